//! `EventLoop::run` makes no heap allocation: a counting global allocator
//! watches the loop's thread while it echoes, fires timers and takes a signal.

use picosel::{EventLoop, Events, TimerId, Token};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

struct Counting;

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: delegates to the system allocator; only counts on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if WATCHING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        if WATCHING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

struct Ctx {
    servers: Vec<UnixStream>,
    echoed: usize,
    ticks: usize,
    signals: usize,
}

type Loop = EventLoop<Ctx, 16, 4>;

fn on_read(lp: &mut Loop, ctx: &mut Ctx, _fd: i32, _ev: Events, token: Token) {
    let mut buf = [0u8; 256];
    let mut s = &ctx.servers[token.0];
    let n = s.read(&mut buf).unwrap();
    s.write_all(&buf[..n]).unwrap();
    ctx.echoed += n;
    if n == 0 {
        lp.unregister(s.as_raw_fd()).unwrap();
    }
}

fn on_tick(_lp: &mut Loop, ctx: &mut Ctx, _id: TimerId, _t: Token) {
    ctx.ticks += 1;
}

fn on_usr1(lp: &mut Loop, ctx: &mut Ctx, _signo: i32, _t: Token) {
    ctx.signals += 1;
    lp.stop();
}

#[test]
fn run_makes_no_heap_allocation() {
    let mut clients = Vec::new();
    let mut ctx = Ctx { servers: Vec::new(), echoed: 0, ticks: 0, signals: 0 };
    let mut lp = Loop::new();
    for i in 0..8 {
        let (c, s) = UnixStream::pair().unwrap();
        lp.register(s.as_raw_fd(), Events::READ, on_read, Token(i)).unwrap();
        ctx.servers.push(s);
        clients.push(c);
    }
    lp.add_timer(Duration::from_millis(1), Some(Duration::from_millis(2)), on_tick, Token(0))
        .unwrap();
    lp.add_signal(libc::SIGUSR1, on_usr1, Token(0)).unwrap();
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() } as usize;
    let driver = std::thread::spawn(move || {
        for round in 0..50u8 {
            for c in &mut clients {
                c.write_all(&[round; 100]).unwrap();
                let mut back = [0u8; 100];
                c.read_exact(&mut back).unwrap();
                assert_eq!(back, [round; 100]);
            }
        }
        // SAFETY: the loop thread waits in run() until this signal arrives.
        unsafe { libc::pthread_kill(me as libc::pthread_t, libc::SIGUSR1) };
        clients
    });
    WATCHING.with(|w| w.set(true));
    lp.run(&mut ctx).unwrap();
    WATCHING.with(|w| w.set(false));
    let _clients = driver.join().unwrap();
    assert_eq!(ctx.echoed, 8 * 50 * 100);
    assert_eq!(ctx.signals, 1);
    assert!(ctx.ticks >= 1);
    assert_eq!(COUNT.with(Cell::get), 0, "allocations during run()");
}

#[test]
fn the_counter_sees_allocations() {
    WATCHING.with(|w| w.set(true));
    let v = std::hint::black_box(vec![1u8; 64]);
    WATCHING.with(|w| w.set(false));
    drop(v);
    assert!(COUNT.with(Cell::get) >= 1);
}

#[test]
fn udp_and_waker_calls_make_no_heap_allocation() {
    use picosel::Waker;
    use picosel::net::UdpSocket;
    let a = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let to = b.local_addr().unwrap();
    let waker = Waker::new().unwrap();
    let mut buf = [0u8; 8];
    let mut sel: picosel::DefaultSelector<(), 2> = picosel::DefaultSelector::new();
    sel.register(b.as_raw_fd(), Events::READ, ()).unwrap();
    WATCHING.with(|w| w.set(true));
    b.set_recv_pktinfo(true).unwrap();
    a.send_to(b"0123456789", to).unwrap();
    a.send_to(b"x", to).unwrap();
    let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    let first = b.recv_from(&mut buf).unwrap();
    let second = b.recv_msg(&mut buf).unwrap();
    let none = b.recv_from(&mut buf).unwrap();
    waker.wake().unwrap();
    let woken = waker.drain().unwrap();
    WATCHING.with(|w| w.set(false));
    assert_eq!(COUNT.with(Cell::get), 0, "heap allocations in UDP or waker calls");
    assert_eq!(ready, 1);
    let first = first.unwrap();
    assert_eq!((first.len, first.truncated), (10, true));
    assert!(second.unwrap().dst.is_some());
    assert_eq!(none, None);
    assert!(woken);
}

#[test]
fn unix_stream_calls_make_no_heap_allocation() {
    use picosel::net::{Accept, UnixAddr, UnixDatagram, UnixListener, UnixStream};
    let name = format!("picosel-no-alloc-{}", std::process::id());
    let mut sel: picosel::DefaultSelector<(), 2> = picosel::DefaultSelector::new();
    let mut buf = [0u8; 8];
    WATCHING.with(|w| w.set(true));
    let addr = UnixAddr::abstract_name(name.as_bytes()).unwrap();
    let mut listener = UnixListener::bind(&addr, 4).unwrap();
    let client = UnixStream::connect(&addr).unwrap();
    sel.register(listener.as_raw_fd(), Events::READ, ()).unwrap();
    let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    let accepted = listener.accept().unwrap();
    let sent = client.send(b"ping").unwrap();
    let (server, peer) = match accepted {
        Accept::Stream(s, peer) => (s, peer),
        _ => panic!("no connection"),
    };
    let got = server.recv(&mut buf).unwrap();
    let cred = server.peer_cred().unwrap();
    let local = server.local_addr().unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    a.send(b"xy").unwrap();
    let pair_got = b.recv(&mut buf).unwrap();
    let (da, db) = UnixDatagram::pair().unwrap();
    da.send(b"0123456789").unwrap();
    let d = db.recv_from(&mut buf).unwrap();
    WATCHING.with(|w| w.set(false));
    assert_eq!(COUNT.with(Cell::get), 0, "heap allocations in Unix socket calls");
    assert_eq!((ready, sent, got, pair_got), (1, Some(4), Some(4), Some(2)));
    assert!(peer.is_unnamed());
    assert_eq!(local, addr);
    assert_eq!(cred.pid, std::process::id() as i32);
    assert!(d.unwrap().truncated);
}

#[test]
fn netlink_open_request_recv_and_parse_make_no_heap_allocation() {
    use picosel::net::Netlink;
    use picosel::net::netlink::{Groups, Message};
    let mut buf = [0u8; 16384];
    let mut sel: picosel::DefaultSelector<(), 1> = picosel::DefaultSelector::new();
    WATCHING.with(|w| w.set(true));
    let opened = Netlink::open(Groups::LINK);
    let (mut links, mut done) = (0, false);
    if let Ok(mut nl) = opened {
        sel.register(nl.as_raw_fd(), Events::READ, ()).unwrap();
        nl.request_links().unwrap();
        // The dump of this machine's links, to its Done.
        for _ in 0..64 {
            if done {
                break;
            }
            sel.select(Some(Duration::from_secs(5))).unwrap();
            while let Ok(Some(messages)) = nl.recv(&mut buf) {
                for m in messages {
                    match m {
                        Message::Link(_) => links += 1,
                        Message::Done => done = true,
                        _ => {}
                    }
                }
            }
        }
    }
    WATCHING.with(|w| w.set(false));
    assert_eq!(COUNT.with(Cell::get), 0, "heap allocations in netlink calls");
    assert!(done && links >= 1, "the dump ended with {links} links (done: {done})");
}
