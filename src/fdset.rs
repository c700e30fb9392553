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

    /// The lowest fd `>= from` and below `nfds` that is in `self` or in
    /// `other`, if any: one word scan per 64 fds.
    pub fn next_in_either(&self, other: &FdSet, from: i32, nfds: i32) -> Option<i32> {
        let end = nfds.clamp(0, FD_SETSIZE as i32) as usize;
        let mut fd = usize::try_from(from).ok()?;
        while fd < end {
            let w = fd / WORD_BITS;
            let word = self.words.get(w)? | other.words.get(w)?;
            let rest = word >> (fd % WORD_BITS);
            if rest != 0 {
                let found = fd + rest.trailing_zeros() as usize;
                return (found < end).then_some(found as i32);
            }
            fd = (w + 1) * WORD_BITS;
        }
        None
    }

    /// How many fds are in `self` or in `other`.
    pub fn count_either(&self, other: &FdSet) -> usize {
        self.words.iter().zip(other.words.iter()).map(|(a, b)| (a | b).count_ones() as usize).sum()
    }

    /// The union of two sets.
    pub fn union(&self, other: &FdSet) -> FdSet {
        let mut out = *self;
        for (a, b) in out.words.iter_mut().zip(other.words.iter()) {
            *a |= *b;
        }
        out
    }

    /// The raw words, for building a set from arbitrary data (fuzzing).
    #[cfg(feature = "fuzzing")]
    pub fn from_words(words: [Word; WORDS]) -> FdSet {
        FdSet { words }
    }
}
