//! The chain on picosel's bare selector: `DefaultSelector<i32, 1024>`
//! (epoll, level-triggered); each read end's data is the write end of the
//! next pair, where its event sends the byte on.
use chain::{args, next_write_ends, pairs, read1, start, write1};
use picosel::{DefaultSelector, Events};

fn main() {
    let a = args();
    let fds = pairs(a.pairs);
    let next = next_write_ends(&fds);
    let mut sel: DefaultSelector<i32, 1024> = DefaultSelector::new();
    for (&(r, _), &w) in fds.iter().zip(&next) {
        sel.register(r, Events::READ, w).expect("register");
    }
    start(|i| fds[i].1, &a);
    let mut count = 0u64;
    'run: loop {
        sel.select(None).expect("select");
        while let Some((key, _ev)) = sel.next_ready() {
            if !read1(key.fd) {
                continue;
            }
            count += 1;
            write1(key.data);
            if count >= a.events {
                break 'run;
            }
        }
    }
    println!("{count}");
}
