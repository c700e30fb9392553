//! Every second, a line to each client: `cargo run --example ticker`, `nc 127.0.0.1 8014`.
use picosel::{EventLoop, Events, TimerId, Token};
use std::{io::ErrorKind, io::Read, io::Write, net::TcpListener, net::TcpStream};
use std::{os::fd::AsRawFd, time::Duration};
const MAX: usize = 64;
struct Server {
    listener: TcpListener,
    clients: [Option<TcpStream>; MAX],
    ticks: u64,
}
type Loop = EventLoop<Server, { MAX + 1 }, 1>;

fn on_accept(lp: &mut Loop, s: &mut Server, _fd: i32, _ev: Events, _t: Token) {
    while let Ok((conn, _)) = s.listener.accept() {
        if let Some(i) = s.clients.iter().position(Option::is_none) {
            if conn.set_nonblocking(true).is_ok()
                && lp.register(conn.as_raw_fd(), Events::READ, on_input, Token(i)).is_ok()
            {
                s.clients[i] = Some(conn);
            }
        } // else full: dropping `conn` closes it
    }
}

fn on_input(lp: &mut Loop, s: &mut Server, fd: i32, _ev: Events, Token(i): Token) {
    match s.clients[i].as_mut().map(|conn| conn.read(&mut [0u8; 256])) {
        Some(Ok(n)) if n > 0 => {} // input is ignored
        Some(Err(e)) if e.kind() == ErrorKind::WouldBlock => {}
        _ => {
            let _ = lp.unregister(fd); // EOF or error: unregister, then close
            s.clients[i] = None;
        }
    }
}

fn on_tick(lp: &mut Loop, s: &mut Server, _id: TimerId, _t: Token) {
    s.ticks += 1;
    let line = format!("tick {}\n", s.ticks);
    for slot in s.clients.iter_mut() {
        if let Some(conn) = slot {
            if conn.write(line.as_bytes()).is_err() {
                let _ = lp.unregister(conn.as_raw_fd()); // gone or stuck: dropped
                *slot = None;
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:8014")?;
    listener.set_nonblocking(true)?;
    println!("listening on {}", listener.local_addr()?);
    let mut lp = Loop::new();
    lp.register(listener.as_raw_fd(), Events::READ, on_accept, Token(0))?;
    lp.add_timer(Duration::from_secs(1), Some(Duration::from_secs(1)), on_tick, Token(0))?;
    lp.run(&mut Server { listener, clients: [const { None }; MAX], ticks: 0 })?;
    Ok(())
}
