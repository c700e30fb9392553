//! The interest/readiness bit mask.

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign};

/// A set of I/O events: [`Events::READ`], [`Events::WRITE`] or both.
///
/// The values are Python's `selectors.EVENT_READ` (1) and `EVENT_WRITE` (2).
/// [`Events::from_bits_retain`] keeps any bits so that a mask coming from
/// outside (a config file, a Python port) is checked where Python checks it:
/// `register` and `modify` refuse an empty mask or unknown bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Events(u8);

impl Events {
    /// No events.
    pub const NONE: Events = Events(0);
    /// Readable (Python's `EVENT_READ`).
    pub const READ: Events = Events(1);
    /// Writable (Python's `EVENT_WRITE`).
    pub const WRITE: Events = Events(2);
    /// Readable and writable.
    pub const BOTH: Events = Events(3);

    /// The mask with exactly these bits, unknown ones included.
    pub const fn from_bits_retain(bits: u8) -> Events {
        Events(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// True when no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when the mask is non-empty and has only `READ`/`WRITE` bits:
    /// what `register` and `modify` accept.
    pub const fn is_valid(self) -> bool {
        self.0 != 0 && self.0 & !3 == 0
    }

    /// True when `READ` is set.
    pub const fn is_readable(self) -> bool {
        self.0 & 1 != 0
    }

    /// True when `WRITE` is set.
    pub const fn is_writable(self) -> bool {
        self.0 & 2 != 0
    }

    /// True when every bit of `other` is set in `self`.
    pub const fn contains(self, other: Events) -> bool {
        self.0 & other.0 == other.0
    }

    /// The bits set in both.
    pub const fn intersection(self, other: Events) -> Events {
        Events(self.0 & other.0)
    }

    /// The bits set in either.
    pub const fn union(self, other: Events) -> Events {
        Events(self.0 | other.0)
    }

    /// `self` without the bits of `other`.
    pub const fn difference(self, other: Events) -> Events {
        Events(self.0 & !other.0)
    }
}

impl BitOr for Events {
    type Output = Events;
    fn bitor(self, rhs: Events) -> Events {
        self.union(rhs)
    }
}

impl BitOrAssign for Events {
    fn bitor_assign(&mut self, rhs: Events) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Events {
    type Output = Events;
    fn bitand(self, rhs: Events) -> Events {
        self.intersection(rhs)
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("NONE"),
            1 => f.write_str("READ"),
            2 => f.write_str("WRITE"),
            3 => f.write_str("READ|WRITE"),
            b => write!(f, "Events({b:#x})"),
        }
    }
}
