//! The chain on picosel's event loop: `EventLoop<Ctx, 1024, 1>` with one
//! `fn` callback per read end; its token is the write end of the next
//! pair, where the event sends the byte on; `stop()` at E events.
use chain::{args, next_write_ends, pairs, read1, start, write1};
use picosel::{EventLoop, Events, Token};

struct Ctx {
    count: u64,
    events: u64,
}
type Loop = EventLoop<Ctx, 1024, 1>;

fn on_read(lp: &mut Loop, ctx: &mut Ctx, fd: i32, _ev: Events, next: Token) {
    if ctx.count >= ctx.events || !read1(fd) {
        return; // stopped: the rest of this batch is not counted
    }
    ctx.count += 1;
    write1(next.0 as i32);
    if ctx.count >= ctx.events {
        lp.stop();
    }
}

fn main() {
    let a = args();
    let fds = pairs(a.pairs);
    let next = next_write_ends(&fds);
    let mut lp = Loop::new();
    for (&(r, _), &w) in fds.iter().zip(&next) {
        lp.register(r, Events::READ, on_read, Token(w as usize)).expect("register");
    }
    let mut ctx = Ctx { count: 0, events: a.events };
    start(|i| fds[i].1, &a);
    lp.run(&mut ctx).expect("run");
    println!("{}", ctx.count);
}
