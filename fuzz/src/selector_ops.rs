//! Target `selector_ops`: arbitrary sequences of register / modify /
//! unregister / select(0) / get_key / close on real socket pairs, on each of
//! the three real backends, checked against a plain model of Python's
//! `selectors` semantics: same results, same errors, and `select(0)` reports
//! exactly the fds the model knows to be ready.

use crate::cursor::Cursor;
use picosel::backend::{Backend, Epoll, Poll, Select};
use picosel::{Error, Events, Key, RawFd, Selector};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

const N: usize = 6;
const POOL: usize = 8;

/// Python's semantics over a map: the reference.
#[derive(Default)]
struct Model {
    keys: BTreeMap<RawFd, Key<u32>>,
    closed: bool,
}

impl Model {
    fn register(&mut self, fd: RawFd, events: Events, data: u32) -> Result<Key<u32>, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if !events.is_valid() {
            return Err(Error::InvalidEvents(events.bits()));
        }
        if fd < 0 {
            return Err(Error::BadFd(fd));
        }
        if self.keys.contains_key(&fd) {
            return Err(Error::AlreadyRegistered(fd));
        }
        if self.keys.len() >= N {
            return Err(Error::Full { capacity: N });
        }
        let key = Key { fd, events, data };
        self.keys.insert(fd, key);
        Ok(key)
    }

    fn unregister(&mut self, fd: RawFd) -> Result<Key<u32>, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if fd < 0 {
            return Err(Error::BadFd(fd));
        }
        self.keys.remove(&fd).ok_or(Error::NotRegistered(fd))
    }

    fn modify(&mut self, fd: RawFd, events: Events, data: u32) -> Result<Key<u32>, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if !events.is_valid() {
            return Err(Error::InvalidEvents(events.bits()));
        }
        if fd < 0 {
            return Err(Error::BadFd(fd));
        }
        let key = self.keys.get_mut(&fd).ok_or(Error::NotRegistered(fd))?;
        key.events = events;
        key.data = data;
        Ok(*key)
    }

    fn get_key(&self, fd: RawFd) -> Result<Key<u32>, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if fd < 0 {
            return Err(Error::BadFd(fd));
        }
        self.keys.get(&fd).copied().ok_or(Error::NotRegistered(fd))
    }
}

/// One end we watch, the peer we write from, and how many bytes wait.
struct Pair {
    ours: UnixStream,
    peer: UnixStream,
    pending: usize,
}

fn pair() -> Pair {
    let (ours, peer) = UnixStream::pair().expect("socketpair");
    ours.set_nonblocking(true).expect("nonblocking");
    Pair { ours, peer, pending: 0 }
}

fn run_on<B: Backend<N>>(data: &[u8]) {
    let mut c = Cursor::new(data);
    let mut sel: Selector<B, u32, N> = Selector::new();
    let mut model = Model::default();
    let mut pool: Vec<Pair> = (0..POOL).map(|_| pair()).collect();
    let mut ops = 0;
    while !c.done() && ops < 200 {
        ops += 1;
        let i = c.below(POOL);
        let fd = match c.byte() % 16 {
            0 => -1 - c.below(3) as i32,
            _ => pool[i].ours.as_raw_fd(),
        };
        let ev = Events::from_bits_retain(c.byte() % 5);
        let data = u32::from(c.byte());
        match c.byte() % 9 {
            0 | 1 => assert_eq!(
                sel.register(fd, ev, data),
                model.register(fd, ev, data),
                "register({fd}, {ev:?})"
            ),
            2 => assert_eq!(sel.unregister(fd), model.unregister(fd), "unregister({fd})"),
            3 => assert_eq!(
                sel.modify(fd, ev, data),
                model.modify(fd, ev, data),
                "modify({fd}, {ev:?})"
            ),
            4 => assert_eq!(sel.get_key(fd), model.get_key(fd), "get_key({fd})"),
            5 => {
                // Make pool[i] readable.
                pool[i].peer.write_all(b"x").expect("write");
                pool[i].pending += 1;
            }
            6 => {
                // Drain pool[i].
                let mut buf = [0u8; 64];
                while pool[i].pending > 0 {
                    match pool[i].ours.read(&mut buf) {
                        Ok(n) => pool[i].pending -= n.min(pool[i].pending),
                        Err(e) => panic!("drain: {e}"),
                    }
                }
            }
            7 => {
                // Replace pool[i]: unregister first (as documented), close, and
                // make a new pair, which usually reuses the fd numbers.
                let old = pool[i].ours.as_raw_fd();
                assert_eq!(sel.unregister(old).ok(), model.unregister(old).ok());
                pool[i] = pair();
            }
            _ => {
                if c.byte() % 8 == 0 {
                    sel.close();
                    model.closed = true;
                    model.keys.clear();
                    continue;
                }
                let res = sel.select(Some(Duration::ZERO));
                if model.closed {
                    assert_eq!(res, Err(Error::Closed));
                    continue;
                }
                let n = res.expect("select(0)");
                let mut got = BTreeMap::new();
                while let Some((key, events)) = sel.next_ready() {
                    assert!(got.insert(key.fd, (key, events)).is_none(), "fd reported twice");
                }
                assert_eq!(got.len(), n);
                let mut want = BTreeMap::new();
                for (&fd, &key) in &model.keys {
                    let p =
                        pool.iter().find(|p| p.ours.as_raw_fd() == fd).expect("model fd in pool");
                    let mut ready = Events::WRITE; // our send buffer is always empty
                    if p.pending > 0 {
                        ready |= Events::READ;
                    }
                    let ready = ready & key.events;
                    if !ready.is_empty() {
                        want.insert(fd, (key, ready));
                    }
                }
                assert_eq!(got, want, "select(0) on {}", sel.backend_name());
            }
        }
        assert_eq!(sel.len(), model.keys.len());
    }
}

/// Runs one input on every backend.
pub fn run(data: &[u8]) {
    run_on::<Select>(data);
    run_on::<Poll<N>>(data);
    run_on::<Epoll<N>>(data);
}
