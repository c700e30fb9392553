//! SHA-1 (FIPS 180-4), for the WebSocket handshake's `Sec-WebSocket-Accept`
//! only: SHA-1 is broken for collision resistance, and RFC 6455 uses it as
//! a fixed transform, not for security.

/// An incremental SHA-1: [`new`](Sha1::new), any number of
/// [`update`](Sha1::update)s, then [`finish`](Sha1::finish).
#[derive(Clone)]
pub struct Sha1 {
    h: [u32; 5],
    block: [u8; 64],
    /// Bytes hashed so far (the block holds `len % 64` of them).
    len: u64,
}

impl Default for Sha1 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha1 {
    /// The initial state.
    pub const fn new() -> Self {
        Sha1 {
            h: [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0],
            block: [0; 64],
            len: 0,
        }
    }

    fn fill(&self) -> usize {
        (self.len % 64) as usize
    }

    /// Hashes `data` after what came before.
    pub fn update(&mut self, data: &[u8]) {
        for &b in data {
            let i = self.fill();
            if let Some(slot) = self.block.get_mut(i) {
                *slot = b;
            }
            self.len = self.len.wrapping_add(1);
            if i == 63 {
                compress(&mut self.h, &self.block);
            }
        }
    }

    /// The digest of everything given to [`update`](Sha1::update).
    pub fn finish(mut self) -> [u8; 20] {
        let bits = self.len.wrapping_mul(8);
        self.update(&[0x80]);
        while self.fill() != 56 {
            self.update(&[0]);
        }
        self.update(&bits.to_be_bytes());
        let mut out = [0u8; 20];
        for (o, h) in out.chunks_exact_mut(4).zip(self.h) {
            o.copy_from_slice(&h.to_be_bytes());
        }
        out
    }
}

/// The SHA-1 digest of `data`.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut s = Sha1::new();
    s.update(data);
    s.finish()
}

fn compress(h: &mut [u32; 5], block: &[u8; 64]) {
    let mut w = [0u32; 16];
    for (w, b) in w.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_be_bytes(b.try_into().unwrap_or([0; 4]));
    }
    let [mut a, mut b, mut c, mut d, mut e] = *h;
    for i in 0..80usize {
        if i >= 16 {
            // A rolling 16-word schedule; `& 15` keeps every index in bounds.
            let x = w[(i + 13) & 15] ^ w[(i + 8) & 15] ^ w[(i + 2) & 15] ^ w[i & 15];
            w[i & 15] = x.rotate_left(1);
        }
        let (f, k) = match i {
            0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
            20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
            40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
            _ => (b ^ c ^ d, 0xCA62_C1D6),
        };
        let t = a
            .rotate_left(5)
            .wrapping_add(f)
            .wrapping_add(e)
            .wrapping_add(k)
            .wrapping_add(w[i & 15]);
        (e, d, c, b, a) = (d, c, b.rotate_left(30), a, t);
    }
    for (h, v) in h.iter_mut().zip([a, b, c, d, e]) {
        *h = h.wrapping_add(v);
    }
}
