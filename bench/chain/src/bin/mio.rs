//! The chain on mio 1.x. mio is edge-triggered only, so an event must be
//! drained until WouldBlock: each event costs one read of its byte plus one
//! read that returns EAGAIN (the "extra read"; counted, not hidden). Each
//! byte read counts as one event and sends one byte on.
use chain::{args, next_write_ends, pairs, start, write1};
use mio::net::UnixStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{ErrorKind, Read};
use std::os::fd::FromRawFd;

fn main() {
    let a = args();
    let fds = pairs(a.pairs);
    let mut poll = Poll::new().expect("poll");
    // SAFETY: each read end is an open fd we own, handed over once.
    let mut readers: Vec<UnixStream> =
        fds.iter().map(|p| unsafe { UnixStream::from_raw_fd(p.0) }).collect();
    for (i, r) in readers.iter_mut().enumerate() {
        poll.registry().register(r, Token(i), Interest::READABLE).expect("register");
    }
    let next = next_write_ends(&fds);
    start(|i| fds[i].1, &a);
    let mut events = Events::with_capacity(1024);
    let mut count = 0u64;
    'run: loop {
        poll.poll(&mut events, None).expect("poll");
        for ev in events.iter() {
            let i = ev.token().0;
            let mut b = [0u8; 1];
            loop {
                match readers[i].read(&mut b) {
                    Ok(1) => {
                        count += 1;
                        write1(next[i]);
                        if count >= a.events {
                            break 'run;
                        }
                    }
                    Ok(_) => break,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => panic!("read: {e}"),
                }
            }
        }
    }
    println!("{count}");
}
