//! A bounds-checked `fd_set` for `select(2)`.

/// `FD_SETSIZE`: `select(2)` can watch fds `0..FD_SETSIZE` only.
pub const FD_SETSIZE: usize = libc::FD_SETSIZE;

type Word = libc::c_ulong;
const WORD_BITS: usize = Word::BITS as usize;
const WORDS: usize = FD_SETSIZE / WORD_BITS;

/// A bit set of fds with exactly the layout of the C library's `fd_set`
/// (an array of `unsigned long`), but whose methods check the fd against
/// `FD_SETSIZE` instead of writing past the end (the classic `FD_SET`
/// overflow: Redis #267).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FdSet {
    words: [Word; WORDS],
}

const _: () = assert!(core::mem::size_of::<FdSet>() == core::mem::size_of::<libc::fd_set>());
const _: () = assert!(core::mem::align_of::<FdSet>() == core::mem::align_of::<libc::fd_set>());

impl Default for FdSet {
    fn default() -> Self {
        Self::new()
    }
}

impl FdSet {
    /// The empty set.
    pub const fn new() -> Self {
        FdSet { words: [0; WORDS] }
    }

    fn locate(fd: i32) -> Option<(usize, Word)> {
        let fd = usize::try_from(fd).ok()?;
        if fd >= FD_SETSIZE {
            return None;
        }
        Some((fd / WORD_BITS, 1 << (fd % WORD_BITS)))
    }

    /// Adds `fd`; returns false (and changes nothing) when it is out of range.
    pub fn insert(&mut self, fd: i32) -> bool {
        match Self::locate(fd).and_then(|(w, bit)| Some((self.words.get_mut(w)?, bit))) {
            Some((word, bit)) => {
                *word |= bit;
                true
            }
            None => false,
        }
    }

    /// Removes `fd` (no-op when out of range).
    pub fn remove(&mut self, fd: i32) {
        if let Some((w, bit)) = Self::locate(fd) {
            if let Some(word) = self.words.get_mut(w) {
                *word &= !bit;
            }
        }
    }

    /// True when `fd` is in the set.
    pub fn contains(&self, fd: i32) -> bool {
        match Self::locate(fd) {
            Some((w, bit)) => self.words.get(w).is_some_and(|word| word & bit != 0),
            None => false,
        }
    }

    /// One more than the highest fd in the set (0 when empty): `select`'s
    /// `nfds` argument.
    pub fn nfds(&self) -> i32 {
        for (i, &w) in self.words.iter().enumerate().rev() {
            if w != 0 {
                return (i * WORD_BITS + (WORD_BITS - w.leading_zeros() as usize)) as i32;
            }
        }
        0
    }

    /// The fds in the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = i32> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut rest = w;
            core::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                Some((i * WORD_BITS + bit) as i32)
            })
        })
    }

    /// The union of two sets.
    pub fn union(&self, other: &FdSet) -> FdSet {
        let mut out = *self;
        for (a, b) in out.words.iter_mut().zip(other.words.iter()) {
            *a |= *b;
        }
        out
    }

    /// Keeps only fds below `nfds` (what the kernel may report).
    pub fn truncate(&mut self, nfds: i32) {
        let nfds = nfds.clamp(0, FD_SETSIZE as i32) as usize;
        for (i, w) in self.words.iter_mut().enumerate() {
            let lo = i * WORD_BITS;
            if lo >= nfds {
                *w = 0;
            } else if nfds - lo < WORD_BITS {
                *w &= ((1 as Word) << (nfds - lo)) - 1;
            }
        }
    }

    /// The raw words, for building a set from arbitrary data (fuzzing).
    pub fn from_words(words: [Word; WORDS]) -> FdSet {
        FdSet { words }
    }
}
