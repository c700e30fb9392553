//! The chain on the `polling` crate (3.x) in its level-triggered mode
//! (`add_with_mode(.., PollMode::Level)`), so no re-arm per event; key =
//! pair index.
use chain::{args, next_write_ends, pairs, read1, start, write1};
use polling::{Event, Events, PollMode, Poller};

fn main() {
    let a = args();
    let fds = pairs(a.pairs);
    let poller = Poller::new().expect("poller");
    for (i, &(r, _)) in fds.iter().enumerate() {
        // SAFETY: the fd stays open (and registered) until the process exits.
        unsafe { poller.add_with_mode(r, Event::readable(i), PollMode::Level) }.expect("add");
    }
    let next = next_write_ends(&fds);
    start(|i| fds[i].1, &a);
    let mut events = Events::with_capacity(std::num::NonZeroUsize::new(1024).unwrap());
    let mut count = 0u64;
    'run: loop {
        events.clear();
        poller.wait(&mut events, None).expect("wait");
        for ev in events.iter() {
            if !read1(fds[ev.key].0) {
                continue;
            }
            count += 1;
            write1(next[ev.key]);
            if count >= a.events {
                break 'run;
            }
        }
    }
    println!("{count}");
}
