//! The chain on picosel's bare selector: `DefaultSelector<usize, 1024>`
//! (epoll, level-triggered), each read end registered with its pair index.
use chain::{args, pairs, read1, start, write1};
use picosel::{DefaultSelector, Events};

fn main() {
    let a = args();
    let fds = pairs(a.pairs);
    let mut sel: DefaultSelector<usize, 1024> = DefaultSelector::new();
    for (i, &(r, _)) in fds.iter().enumerate() {
        sel.register(r, Events::READ, i).expect("register");
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
            write1(fds[(key.data + 1) % a.pairs].1);
            if count >= a.events {
                break 'run;
            }
        }
    }
    println!("{count}");
}
