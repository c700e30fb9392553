//! A fixed-capacity byte ring for per-connection output.

/// A FIFO of at most `N` bytes in a fixed array: push at the back, write
/// out from the front with [`front`](Self::front) and
/// [`consume`](Self::consume). No allocation, no panics.
///
/// ```
/// let mut ring = progs::ring::ByteRing::<8>::new();
/// assert_eq!(ring.push(b"hello"), 5);
/// ring.consume(3);
/// assert!(ring.push_all(b"world"));
/// assert_eq!(ring.front(), b"lowor"); // up to the end of the array
/// ring.consume(5);
/// assert_eq!(ring.front(), b"ld"); // the wrapped rest
/// ```
pub struct ByteRing<const N: usize> {
    buf: [u8; N],
    head: usize,
    len: usize,
}

impl<const N: usize> Default for ByteRing<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> ByteRing<N> {
    /// An empty ring.
    pub const fn new() -> Self {
        ByteRing { buf: [0; N], head: 0, len: 0 }
    }

    /// Bytes queued.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is queued.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when no byte more fits.
    pub const fn is_full(&self) -> bool {
        self.len == N
    }

    /// Room left.
    pub const fn free(&self) -> usize {
        N - self.len
    }

    /// The capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Appends as much of `data` as fits; returns how many bytes were taken.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let take = data.len().min(self.free());
        let mut done = 0;
        while done < take {
            let tail = (self.head + self.len) % N;
            let run = (N - tail).min(take - done);
            let (Some(dst), Some(src)) =
                (self.buf.get_mut(tail..tail + run), data.get(done..done + run))
            else {
                break;
            };
            dst.copy_from_slice(src);
            self.len += run;
            done += run;
        }
        done
    }

    /// Appends all of `data`, or nothing if it does not fit.
    pub fn push_all(&mut self, data: &[u8]) -> bool {
        if data.len() > self.free() {
            return false;
        }
        self.push(data) == data.len()
    }

    /// The longest contiguous run of queued bytes at the front (empty when
    /// nothing is queued); write it out, then [`consume`](Self::consume).
    pub fn front(&self) -> &[u8] {
        let run = self.len.min(N - self.head.min(N));
        self.buf.get(self.head..self.head + run).unwrap_or(&[])
    }

    /// Drops `n` bytes (at most [`len`](Self::len)) from the front.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        self.head = if self.len == 0 || N == 0 { 0 } else { (self.head + n) % N };
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Writes the ring out through `send` (a socket's `send`: `Ok(None)`
    /// when it would block) until it is empty or the socket is full; true
    /// when it is empty. The one ring-to-socket loop of the programs.
    ///
    /// ```
    /// let mut ring = progs::ring::ByteRing::<8>::new();
    /// ring.push(b"abcdef");
    /// let mut room = 4; // a socket that takes 4 bytes, then would block
    /// let empty = ring.drain_into(|b| {
    ///     let n = b.len().min(room);
    ///     room -= n;
    ///     Ok::<_, ()>(if n == 0 { None } else { Some(n) })
    /// });
    /// assert_eq!((empty, ring.front()), (Ok(false), &b"ef"[..]));
    /// ```
    #[inline]
    pub fn drain_into<E>(
        &mut self,
        mut send: impl FnMut(&[u8]) -> Result<Option<usize>, E>,
    ) -> Result<bool, E> {
        while !self.is_empty() {
            match send(self.front())? {
                Some(n) if n > 0 => self.consume(n),
                _ => return Ok(false),
            }
        }
        Ok(true)
    }
}
