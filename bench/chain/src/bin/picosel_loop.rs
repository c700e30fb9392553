//! The chain on picosel's event loop: `EventLoop<Ctx, 1024, 1>` with one
//! `fn` callback per read end, token = pair index; `stop()` at E events.
use chain::{args, pairs, read1, start, write1};
use picosel::{EventLoop, Events, Token};

struct Ctx {
    write_ends: Vec<i32>,
    count: u64,
    events: u64,
}
type Loop = EventLoop<Ctx, 1024, 1>;

fn on_read(lp: &mut Loop, ctx: &mut Ctx, fd: i32, _ev: Events, token: Token) {
    if ctx.count >= ctx.events || !read1(fd) {
        return; // stopped: the rest of this batch is not counted
    }
    ctx.count += 1;
    write1(ctx.write_ends[(token + 1) % ctx.write_ends.len()]);
    if ctx.count >= ctx.events {
        lp.stop();
    }
}

fn main() {
    let a = args();
    let fds = pairs(a.pairs);
    let mut lp = Loop::new();
    for (i, &(r, _)) in fds.iter().enumerate() {
        lp.register(r, Events::READ, on_read, i).expect("register");
    }
    let mut ctx = Ctx { write_ends: fds.iter().map(|p| p.1).collect(), count: 0, events: a.events };
    start(|i| ctx.write_ends[i], &a);
    lp.run(&mut ctx).expect("run");
    println!("{}", ctx.count);
}
