//! The value an event loop hands back to a callback.

/// A small value stored with a callback and handed back to it: an index
/// into the caller's own table, usually. A newtype, so that it cannot be
/// mixed up with the fd passed next to it.
///
/// ```
/// use picosel::Token;
/// const LISTENER: Token = Token(0);
/// let client = Token(42);
/// assert_ne!(client, LISTENER);
/// assert_eq!(client.0, 42);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub usize);

impl From<usize> for Token {
    fn from(v: usize) -> Token {
        Token(v)
    }
}

impl From<Token> for usize {
    fn from(t: Token) -> usize {
        t.0
    }
}
