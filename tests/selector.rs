//! The selector's Python `selectors` semantics, on real fds, for every backend.

use picosel::{Error, Events, Selector};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

fn pipe() -> (OwnedFd, OwnedFd) {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both are fresh descriptors that we now own.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Drains every ready entry of the last select into a Vec.
fn drain<B: picosel::backend::Backend<N>, D: Copy, const N: usize>(
    sel: &mut Selector<D, N, B>,
) -> Vec<(picosel::Key<D>, Events)> {
    std::iter::from_fn(|| sel.next_ready()).collect()
}

const LONG: Option<Duration> = Some(Duration::from_secs(5));

/// Fills a selector of capacity 3 with three readable socket pairs (data
/// 0, 1, 2) and selects: all three are in the batch. Returns the pairs.
fn three_readable<B: picosel::backend::Backend<3>>(
    sel: &mut Selector<u32, 3, B>,
) -> Vec<(UnixStream, UnixStream)> {
    let mut keep = Vec::new();
    for data in 0..3 {
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(b"x").unwrap();
        sel.register(a.as_raw_fd(), Events::READ, data).unwrap();
        keep.push((a, b));
    }
    assert_eq!(sel.select(LONG).unwrap(), 3);
    keep
}

macro_rules! backend_tests {
    ($name:ident, $backend:ty) => {
        mod $name {
            use super::*;
            type Sel<const N: usize> = Selector<u32, N, $backend>;

            #[test]
            fn register_rejects_empty_and_unknown_events() {
                let mut sel = Sel::<4>::new();
                let (a, _b) = UnixStream::pair().unwrap();
                for bits in [0u8, 4, 8, 0x80, 0xff, 5] {
                    assert_eq!(
                        sel.register(a.as_raw_fd(), Events::from_bits_retain(bits), 0),
                        Err(Error::InvalidEvents { bits })
                    );
                }
                assert_eq!(sel.len(), 0);
            }

            #[test]
            fn register_rejects_negative_fd() {
                let mut sel = Sel::<4>::new();
                assert_eq!(sel.register(-1, Events::READ, 0), Err(Error::BadFd { fd: -1 }));
                assert_eq!(sel.unregister(-5), Err(Error::BadFd { fd: -5 }));
                assert_eq!(sel.modify(-2, Events::READ, 0), Err(Error::BadFd { fd: -2 }));
                assert_eq!(sel.get_key(-3), Err(Error::BadFd { fd: -3 }));
            }

            #[test]
            fn register_twice_is_refused_and_keeps_the_first() {
                let mut sel = Sel::<4>::new();
                let (a, _b) = UnixStream::pair().unwrap();
                let fd = a.as_raw_fd();
                let key = sel.register(fd, Events::READ, 7).unwrap();
                assert_eq!((key.fd, key.events, key.data), (fd, Events::READ, 7));
                assert_eq!(
                    sel.register(fd, Events::WRITE, 8),
                    Err(Error::AlreadyRegistered { fd })
                );
                assert_eq!(sel.get_key(fd).unwrap(), key);
                assert_eq!(sel.len(), 1);
            }

            #[test]
            fn unregister_returns_the_key_and_forgets_it() {
                let mut sel = Sel::<4>::new();
                let (a, _b) = UnixStream::pair().unwrap();
                let fd = a.as_raw_fd();
                assert_eq!(sel.unregister(fd), Err(Error::NotRegistered { fd }));
                let key = sel.register(fd, Events::BOTH, 3).unwrap();
                assert_eq!(sel.unregister(fd), Ok(key));
                assert_eq!(sel.unregister(fd), Err(Error::NotRegistered { fd }));
                assert_eq!(sel.get_key(fd), Err(Error::NotRegistered { fd }));
                assert!(sel.is_empty());
                // And it can be registered again.
                sel.register(fd, Events::READ, 4).unwrap();
            }

            #[test]
            fn unregister_after_the_fd_was_closed_succeeds() {
                let mut sel = Sel::<4>::new();
                let (a, _b) = UnixStream::pair().unwrap();
                let fd = a.as_raw_fd();
                sel.register(fd, Events::READ, 1).unwrap();
                drop(a);
                assert_eq!(sel.unregister(fd).map(|k| k.data), Ok(1));
                assert!(sel.is_empty());
            }

            #[test]
            fn modify_checks_and_updates() {
                let mut sel = Sel::<4>::new();
                let (a, b) = UnixStream::pair().unwrap();
                let fd = a.as_raw_fd();
                assert_eq!(sel.modify(fd, Events::READ, 0), Err(Error::NotRegistered { fd }));
                sel.register(fd, Events::READ, 1).unwrap();
                assert_eq!(
                    sel.modify(fd, Events::from_bits_retain(0), 1),
                    Err(Error::InvalidEvents { bits: 0 })
                );
                assert_eq!(
                    sel.modify(fd, Events::from_bits_retain(6), 1),
                    Err(Error::InvalidEvents { bits: 6 })
                );
                // Data only.
                let k = sel.modify(fd, Events::READ, 2).unwrap();
                assert_eq!((k.events, k.data), (Events::READ, 2));
                // Nothing readable yet: nothing reported.
                assert_eq!(sel.select(Some(Duration::ZERO)).unwrap(), 0);
                // Events: now WRITE is reported, with the new data.
                let k = sel.modify(fd, Events::WRITE, 3).unwrap();
                assert_eq!((k.events, k.data), (Events::WRITE, 3));
                sel.select(LONG).unwrap();
                let got = drain(&mut sel);
                assert_eq!(got.len(), 1);
                assert_eq!((got[0].0.data, got[0].1), (3, Events::WRITE));
                drop(b);
            }

            #[test]
            fn get_key_and_keys_show_the_map() {
                let mut sel = Sel::<8>::new();
                let pairs: Vec<_> = (0..5).map(|_| UnixStream::pair().unwrap()).collect();
                for (i, (a, _)) in pairs.iter().enumerate() {
                    sel.register(a.as_raw_fd(), Events::READ, i as u32).unwrap();
                }
                sel.unregister(pairs[2].0.as_raw_fd()).unwrap();
                let mut keys: Vec<_> = sel.keys().map(|k| (k.fd, k.data)).collect();
                keys.sort();
                let mut want: Vec<_> =
                    [0, 1, 3, 4].iter().map(|&i| (pairs[i].0.as_raw_fd(), i as u32)).collect();
                want.sort();
                assert_eq!(keys, want);
                assert_eq!(sel.get_key(pairs[3].0.as_raw_fd()).unwrap().data, 3);
                assert_eq!(sel.len(), 4);
                assert_eq!(sel.capacity(), 8);
            }

            #[test]
            fn select_reports_exactly_the_ready_pairs() {
                let mut sel = Sel::<8>::new();
                let (a, mut b) = UnixStream::pair().unwrap();
                let (c, _d) = UnixStream::pair().unwrap();
                sel.register(a.as_raw_fd(), Events::READ, 1).unwrap();
                sel.register(c.as_raw_fd(), Events::READ, 2).unwrap();
                assert_eq!(sel.select(Some(Duration::ZERO)).unwrap(), 0);
                assert!(sel.next_ready().is_none());
                b.write_all(b"x").unwrap();
                sel.select(LONG).unwrap();
                let got = drain(&mut sel);
                assert_eq!(got.len(), 1);
                assert_eq!(
                    (got[0].0.fd, got[0].0.data, got[0].1),
                    (a.as_raw_fd(), 1, Events::READ)
                );
            }

            #[test]
            fn read_and_write_on_one_fd_come_in_one_entry() {
                let mut sel = Sel::<4>::new();
                let (a, mut b) = UnixStream::pair().unwrap();
                sel.register(a.as_raw_fd(), Events::BOTH, 9).unwrap();
                b.write_all(b"x").unwrap();
                sel.select(LONG).unwrap();
                let got = drain(&mut sel);
                assert_eq!(got.len(), 1);
                assert_eq!(got[0].1, Events::BOTH);
            }

            #[test]
            fn only_registered_events_are_reported() {
                let mut sel = Sel::<4>::new();
                let (a, mut b) = UnixStream::pair().unwrap();
                // Readable and writable, but registered for READ only.
                b.write_all(b"x").unwrap();
                sel.register(a.as_raw_fd(), Events::READ, 1).unwrap();
                sel.select(LONG).unwrap();
                assert_eq!(drain(&mut sel).iter().map(|e| e.1).collect::<Vec<_>>(), [Events::READ]);
            }

            #[test]
            fn zero_timeout_polls_and_returns_at_once() {
                let mut sel = Sel::<4>::new();
                let (a, _b) = UnixStream::pair().unwrap();
                sel.register(a.as_raw_fd(), Events::READ, 1).unwrap();
                let t = Instant::now();
                assert_eq!(sel.select(Some(Duration::ZERO)).unwrap(), 0);
                assert!(t.elapsed() < Duration::from_millis(500), "{:?}", t.elapsed());
            }

            #[test]
            fn positive_timeout_waits_at_least_that_long_and_not_much_more() {
                let mut sel = Sel::<4>::new();
                let (a, _b) = UnixStream::pair().unwrap();
                sel.register(a.as_raw_fd(), Events::READ, 1).unwrap();
                let t = Instant::now();
                assert_eq!(sel.select(Some(Duration::from_millis(150))).unwrap(), 0);
                let el = t.elapsed();
                assert!(el >= Duration::from_millis(150), "{el:?}");
                assert!(el < Duration::from_secs(3), "{el:?}");
            }

            #[test]
            fn sub_millisecond_timeout_is_rounded_up_not_to_zero() {
                let mut sel = Sel::<4>::new();
                let (a, _b) = UnixStream::pair().unwrap();
                sel.register(a.as_raw_fd(), Events::READ, 1).unwrap();
                for us in [1u64, 200, 999] {
                    let t = Instant::now();
                    assert_eq!(sel.select(Some(Duration::from_micros(us))).unwrap(), 0);
                    let el = t.elapsed();
                    assert!(
                        el >= Duration::from_micros(us),
                        "{us} µs timeout returned after {el:?}"
                    );
                }
            }

            #[test]
            fn empty_selector_honours_its_timeout() {
                let mut sel = Sel::<4>::new();
                let t = Instant::now();
                assert_eq!(sel.select(Some(Duration::from_millis(60))).unwrap(), 0);
                assert!(t.elapsed() >= Duration::from_millis(60));
                let mut zero = Sel::<0>::new();
                assert_eq!(zero.select(Some(Duration::from_millis(20))).unwrap(), 0);
                let (a, _b) = UnixStream::pair().unwrap();
                assert_eq!(
                    zero.register(a.as_raw_fd(), Events::READ, 0),
                    Err(Error::Full { what: picosel::Limit::Fds, capacity: 0 })
                );
            }

            #[test]
            fn eintr_is_retried_with_the_remaining_time() {
                let mut sel = Sel::<4>::new();
                let (a, _b) = UnixStream::pair().unwrap();
                sel.register(a.as_raw_fd(), Events::READ, 1).unwrap();
                let (hits, stop) = super::signals::interrupt_this_thread_repeatedly();
                let t = Instant::now();
                let n = sel.select(Some(Duration::from_millis(400))).unwrap();
                let el = t.elapsed();
                stop();
                assert_eq!(n, 0);
                assert!(hits() >= 1, "no signal landed during select");
                assert!(el >= Duration::from_millis(400), "returned early after {el:?}");
                assert!(el < Duration::from_secs(4), "{el:?}");
            }

            #[test]
            fn eintr_then_readiness_reports_the_fd() {
                let mut sel = Sel::<4>::new();
                let (a, b) = UnixStream::pair().unwrap();
                sel.register(a.as_raw_fd(), Events::READ, 1).unwrap();
                let (hits, stop) = super::signals::interrupt_this_thread_repeatedly();
                let writer = std::thread::spawn(move || {
                    // Write only after at least one signal has interrupted the wait.
                    let deadline = Instant::now() + Duration::from_secs(5);
                    while hits() == 0 && Instant::now() < deadline {
                        std::thread::yield_now();
                    }
                    (&b).write_all(b"x").unwrap();
                    b
                });
                let n = sel.select(Some(Duration::from_secs(10))).unwrap();
                stop();
                let _b = writer.join().unwrap();
                assert_eq!(n, 1);
                assert_eq!(drain(&mut sel)[0].1, Events::READ);
            }

            #[test]
            fn hangup_is_reported_as_read_then_eof_then_nothing() {
                let mut sel = Sel::<4>::new();
                let (r, w) = pipe();
                sel.register(r.as_raw_fd(), Events::READ, 1).unwrap();
                drop(w);
                let mut reader = std::fs::File::from(r);
                let mut rounds = 0;
                let mut eof = false;
                while rounds < 10 {
                    rounds += 1;
                    if sel.select(Some(Duration::from_millis(50))).unwrap() == 0 {
                        break;
                    }
                    while let Some((key, ev)) = sel.next_ready() {
                        assert_eq!(ev, Events::READ);
                        let mut buf = [0u8; 8];
                        assert_eq!(reader.read(&mut buf).unwrap(), 0);
                        eof = true;
                        sel.unregister(key.fd).unwrap();
                    }
                }
                assert!(eof);
                assert_eq!(rounds, 2, "expected one READ (EOF) round then a quiet one");
            }

            #[test]
            fn peer_reset_wakes_a_write_only_registration() {
                let mut sel = Sel::<4>::new();
                let (a, b) = UnixStream::pair().unwrap();
                sel.register(a.as_raw_fd(), Events::WRITE, 1).unwrap();
                drop(b);
                sel.select(LONG).unwrap();
                let got = drain(&mut sel);
                assert_eq!(got.len(), 1);
                assert_eq!(got[0].1, Events::WRITE);
                let err = (&a).write(b"x").unwrap_err();
                assert_eq!(err.raw_os_error(), Some(libc::EPIPE));
            }

            #[test]
            fn unregistered_mid_batch_is_not_reported() {
                let mut sel = Sel::<8>::new();
                let pairs: Vec<_> = (0..4).map(|_| UnixStream::pair().unwrap()).collect();
                for (i, (a, b)) in pairs.iter().enumerate() {
                    sel.register(a.as_raw_fd(), Events::READ, i as u32).unwrap();
                    (&*b).write_all(b"x").unwrap();
                }
                assert_eq!(sel.select(LONG).unwrap(), 4);
                let (first, _) = sel.next_ready().unwrap();
                // Unregister every other fd while the batch is in flight.
                for (a, _) in &pairs {
                    if a.as_raw_fd() != first.fd {
                        sel.unregister(a.as_raw_fd()).unwrap();
                    }
                }
                assert!(sel.next_ready().is_none());
            }

            #[test]
            fn modified_mid_batch_is_masked_by_the_new_interest() {
                let mut sel = Sel::<8>::new();
                let (a, mut a2) = UnixStream::pair().unwrap();
                let (c, mut c2) = UnixStream::pair().unwrap();
                sel.register(a.as_raw_fd(), Events::BOTH, 1).unwrap();
                sel.register(c.as_raw_fd(), Events::BOTH, 2).unwrap();
                a2.write_all(b"x").unwrap();
                c2.write_all(b"x").unwrap();
                assert_eq!(sel.select(LONG).unwrap(), 2);
                let (first, ev) = sel.next_ready().unwrap();
                assert_eq!(ev, Events::BOTH);
                let other = if first.fd == a.as_raw_fd() { c.as_raw_fd() } else { a.as_raw_fd() };
                sel.modify(other, Events::WRITE, 77).unwrap();
                let (k, ev) = sel.next_ready().unwrap();
                assert_eq!((k.fd, k.data, ev), (other, 77, Events::WRITE));
                assert!(sel.next_ready().is_none());
            }

            #[test]
            fn reused_fd_number_never_gets_the_old_registrations_event() {
                let mut sel = Sel::<8>::new();
                let (a, mut a2) = UnixStream::pair().unwrap();
                let (b, mut b2) = UnixStream::pair().unwrap();
                sel.register(a.as_raw_fd(), Events::READ, 1).unwrap();
                let bfd = b.as_raw_fd();
                sel.register(bfd, Events::READ, 2).unwrap();
                a2.write_all(b"x").unwrap();
                b2.write_all(b"x").unwrap();
                assert_eq!(sel.select(LONG).unwrap(), 2);
                let mut delivered = Vec::new();
                let mut fresh = None;
                while let Some((key, ev)) = sel.next_ready() {
                    delivered.push((key.fd, key.data, ev));
                    if key.data == 1 {
                        // Close B and put a fresh, idle socket in its number.
                        sel.unregister(bfd).unwrap();
                        let (n1, n2) = UnixStream::pair().unwrap();
                        let nfd = n1.into_raw_fd();
                        drop(b.try_clone().ok());
                        // SAFETY: plain dup2 onto the number we own (b's).
                        assert_eq!(unsafe { libc::dup2(nfd, bfd) }, bfd);
                        // SAFETY: nfd is ours and now duplicated.
                        unsafe { libc::close(nfd) };
                        sel.register(bfd, Events::READ, 3).unwrap();
                        fresh = Some(n2);
                    }
                }
                // If A came first, B's stale event must not have reached data 3.
                assert!(!delivered.iter().any(|d| d.1 == 3), "{delivered:?}");
                // The new registration is live and quiet.
                assert_eq!(
                    sel.select(Some(Duration::ZERO)).unwrap() as usize,
                    drain(&mut sel).len()
                );
                assert!(sel.get_key(bfd).unwrap().data == 3);
                drop(fresh);
                drop(b); // closes bfd (now the fresh socket)
            }

            #[test]
            fn capacity_full_fails_cleanly_and_disturbs_nothing() {
                let mut sel = Sel::<4>::new();
                let pairs: Vec<_> = (0..5).map(|_| UnixStream::pair().unwrap()).collect();
                for (i, (a, _)) in pairs.iter().take(4).enumerate() {
                    sel.register(a.as_raw_fd(), Events::READ, i as u32).unwrap();
                }
                assert_eq!(
                    sel.register(pairs[4].0.as_raw_fd(), Events::READ, 4),
                    Err(Error::Full { what: picosel::Limit::Fds, capacity: 4 })
                );
                assert_eq!(sel.len(), 4);
                for (_, b) in &pairs {
                    (&*b).write_all(b"x").unwrap();
                }
                assert_eq!(sel.select(LONG).unwrap(), 4);
                let mut data: Vec<_> = drain(&mut sel).iter().map(|e| e.0.data).collect();
                data.sort();
                assert_eq!(data, [0, 1, 2, 3]);
                // Freeing one slot makes room again.
                sel.unregister(pairs[0].0.as_raw_fd()).unwrap();
                sel.register(pairs[4].0.as_raw_fd(), Events::READ, 4).unwrap();
            }

            #[test]
            fn many_fds_at_once() {
                let mut sel = Sel::<256>::new();
                let pairs: Vec<_> = (0..200).map(|_| UnixStream::pair().unwrap()).collect();
                for (i, (a, b)) in pairs.iter().enumerate() {
                    sel.register(a.as_raw_fd(), Events::READ, i as u32).unwrap();
                    if i % 2 == 0 {
                        (&*b).write_all(b"x").unwrap();
                    }
                }
                assert_eq!(sel.select(LONG).unwrap(), 100);
                let mut data: Vec<_> = drain(&mut sel).iter().map(|e| e.0.data).collect();
                data.sort();
                assert_eq!(data, (0..200).step_by(2).collect::<Vec<u32>>());
            }

            #[test]
            fn tcp_loopback_accept_readiness() {
                let mut sel = Sel::<4>::new();
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                l.set_nonblocking(true).unwrap();
                sel.register(l.as_raw_fd(), Events::READ, 1).unwrap();
                assert_eq!(sel.select(Some(Duration::ZERO)).unwrap(), 0);
                let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
                assert_eq!(sel.select(LONG).unwrap(), 1);
                assert_eq!(drain(&mut sel)[0].0.data, 1);
                l.accept().unwrap();
            }

            #[test]
            fn close_is_idempotent_and_later_calls_fail_as_closed() {
                let mut sel = Sel::<4>::new();
                let (a, _b) = UnixStream::pair().unwrap();
                sel.register(a.as_raw_fd(), Events::READ, 1).unwrap();
                sel.close();
                sel.close();
                assert!(sel.is_closed());
                assert_eq!(sel.register(a.as_raw_fd(), Events::READ, 1), Err(Error::Closed));
                assert_eq!(sel.unregister(a.as_raw_fd()), Err(Error::Closed));
                assert_eq!(sel.modify(a.as_raw_fd(), Events::READ, 1), Err(Error::Closed));
                assert_eq!(sel.get_key(a.as_raw_fd()), Err(Error::Closed));
                assert_eq!(sel.select(Some(Duration::ZERO)), Err(Error::Closed));
                assert_eq!(sel.len(), 0);
            }

            #[test]
            fn registration_past_fd_setsize() {
                let mut sel = Sel::<4>::new();
                let (sock, _peer) = UnixStream::pair().unwrap();
                let high = super::high_fd(&sock, 1500);
                let res = sel.register(high.as_raw_fd(), Events::READ, 1);
                if sel.backend_name() == "select" {
                    assert_eq!(res, Err(Error::FdOutOfRange { fd: high.as_raw_fd(), limit: 1024 }));
                    assert_eq!(sel.len(), 0);
                    // The selector still works for ordinary fds.
                    let (a, mut b) = UnixStream::pair().unwrap();
                    sel.register(a.as_raw_fd(), Events::READ, 2).unwrap();
                    b.write_all(b"x").unwrap();
                    assert_eq!(sel.select(LONG).unwrap(), 1);
                } else {
                    assert!(res.is_ok(), "{res:?}");
                }
            }

            #[test]
            fn a_registration_made_mid_batch_in_a_full_table_loses_no_pending_event() {
                // Three readable fds fill the table; the first taken
                // unregisters another and registers a fresh, idle fd in its
                // place, so the backend reuses the freed room in the middle
                // of the batch (poll compacts its array then).
                let mut sel = Sel::<3>::new();
                let keep = three_readable(&mut sel);
                let (first, _) = sel.next_ready().unwrap();
                let victim = (0..3).find(|&d| d != first.data).unwrap();
                let victim_fd = keep[victim as usize].0.as_raw_fd();
                sel.unregister(victim_fd).unwrap();
                let (fresh, _peer) = UnixStream::pair().unwrap();
                sel.register(fresh.as_raw_fd(), Events::READ, 9).unwrap();
                let rest: Vec<u32> = drain(&mut sel).iter().map(|(k, _)| k.data).collect();
                let survivor = 3 - first.data - victim;
                assert_eq!(rest, [survivor], "first {}, victim {victim}", first.data);
            }

            #[test]
            fn replacing_the_fd_just_handed_out_loses_none_of_the_rest() {
                // As above, but the room freed is *behind* the batch's
                // position: the first fd handed out replaces itself.
                let mut sel = Sel::<3>::new();
                let _pairs = three_readable(&mut sel);
                let (first, _) = sel.next_ready().unwrap();
                sel.unregister(first.fd).unwrap();
                let (fresh, _peer) = UnixStream::pair().unwrap();
                sel.register(fresh.as_raw_fd(), Events::READ, 9).unwrap();
                let mut rest: Vec<u32> = drain(&mut sel).iter().map(|(k, _)| k.data).collect();
                rest.sort();
                let want: Vec<u32> = (0..3).filter(|&d| d != first.data).collect();
                assert_eq!(rest, want, "first {}", first.data);
            }

            #[test]
            fn select_counts_the_fds_the_kernel_reported() {
                let mut sel = Sel::<4>::new();
                let (a, mut b) = UnixStream::pair().unwrap();
                b.write_all(b"x").unwrap();
                // Readable and writable: one fd, counted once.
                sel.register(a.as_raw_fd(), Events::BOTH, 1).unwrap();
                assert_eq!(sel.select(LONG).unwrap(), 1);
                assert_eq!(drain(&mut sel).len(), 1);
                // A batch left half taken is replaced by the next select.
                sel.register(b.as_raw_fd(), Events::WRITE, 2).unwrap();
                assert_eq!(sel.select(LONG).unwrap(), 2);
                assert!(sel.next_ready().is_some());
                assert_eq!(sel.select(LONG).unwrap(), 2);
                assert_eq!(drain(&mut sel).len(), 2);
            }
        }
    };
}

backend_tests!(select, picosel::backend::Select);
backend_tests!(poll, picosel::backend::Poll<N>);
backend_tests!(epoll, picosel::backend::Epoll<N>);

/// A duplicate of `fd` numbered `min` or above, raising RLIMIT_NOFILE's
/// soft limit to the hard one if needed.
fn high_fd(fd: &impl AsRawFd, min: i32) -> OwnedFd {
    use std::os::fd::FromRawFd;
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur <= (min + 64) as libc::rlim_t {
        assert!(lim.rlim_max > (min + 64) as libc::rlim_t, "hard RLIMIT_NOFILE too low");
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: valid pointer.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    }
    // SAFETY: F_DUPFD_CLOEXEC returns a new fd >= min that we then own.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    assert!(new >= min, "F_DUPFD failed");
    // SAFETY: `new` is a fresh descriptor we own.
    unsafe { OwnedFd::from_raw_fd(new) }
}

#[test]
fn epoll_refuses_regular_files_with_eperm_and_rolls_back() {
    let mut sel = picosel::EpollSelector::<u8, 4>::new();
    let f = std::fs::File::open("Cargo.toml").unwrap();
    assert_eq!(sel.register(f.as_raw_fd(), Events::READ, 0), Err(Error::Os(picosel::Errno::EPERM)));
    assert!(sel.is_empty());
    assert_eq!(sel.get_key(f.as_raw_fd()), Err(Error::NotRegistered { fd: f.as_raw_fd() }));
}

#[test]
fn epoll_fd_is_closed_by_close_and_created_lazily() {
    let mut sel = picosel::EpollSelector::<u8, 4>::new();
    assert_eq!(sel.fileno(), None);
    sel.open().unwrap();
    let epfd = sel.fileno().unwrap();
    // SAFETY: F_GETFD only reads flags.
    let flags = unsafe { libc::fcntl(epfd, libc::F_GETFD) };
    assert!(flags & libc::FD_CLOEXEC != 0);
    sel.close();
    // SAFETY: as above; the fd must now be closed.
    assert_eq!(unsafe { libc::fcntl(epfd, libc::F_GETFD) }, -1);
}

#[test]
fn errors_display_readably() {
    let text = Error::Os(picosel::Errno::EBADF).to_string();
    assert_eq!(text, "EBADF: bad file descriptor");
    assert_eq!(
        Error::FdOutOfRange { fd: 2000, limit: 1024 }.to_string(),
        "fd 2000 is out of range for select() (FD_SETSIZE is 1024)"
    );
    assert_eq!(
        Error::Full { what: picosel::Limit::Fds, capacity: 8 }.to_string(),
        "selector is full (8 fds)"
    );
    assert_eq!(picosel::Errno::from_raw_os_error(4242).to_string(), "errno 4242: unknown error");
}

#[test]
fn a_selector_can_live_in_a_static() {
    use std::sync::Mutex;
    static SEL: Mutex<picosel::DefaultSelector<u16, 16>> =
        Mutex::new(picosel::DefaultSelector::new());
    let (a, mut b) = UnixStream::pair().unwrap();
    let mut sel = SEL.lock().unwrap();
    sel.register(a.as_raw_fd(), Events::READ, 5).unwrap();
    b.write_all(b"x").unwrap();
    assert_eq!(sel.select(LONG).unwrap(), 1);
    assert_eq!(sel.next_ready().unwrap().0.data, 5);
    sel.unregister(a.as_raw_fd()).unwrap();
}

mod signals {
    //! Interrupting the calling thread with a no-op SIGUSR1 handler
    //! installed without SA_RESTART, so blocking calls fail with EINTR.
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Once};
    use std::time::Duration;

    static HITS: AtomicUsize = AtomicUsize::new(0);

    extern "C" fn on_usr1(_: libc::c_int) {
        HITS.fetch_add(1, Ordering::SeqCst);
    }

    fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            // SAFETY: a zeroed sigaction with a valid handler and no SA_RESTART.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut sa.sa_mask);
                sa.sa_flags = 0;
                assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
            }
        });
    }

    /// Sends SIGUSR1 to the calling thread every 30 ms until stopped.
    /// Returns (number of signals handled on this thread so far, stop).
    pub fn interrupt_this_thread_repeatedly() -> (impl Fn() -> usize + Send + 'static, impl FnOnce())
    {
        install();
        // SAFETY: pthread_self has no preconditions.
        // As a number: on musl pthread_t is a pointer, not Send.
        let me = unsafe { libc::pthread_self() } as usize;
        let stop = Arc::new(AtomicBool::new(false));
        let start = HITS.load(Ordering::SeqCst);
        let s2 = stop.clone();
        let t = std::thread::spawn(move || {
            while !s2.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(30));
                // SAFETY: `me` is alive until stop() joins us.
                unsafe { libc::pthread_kill(me as libc::pthread_t, libc::SIGUSR1) };
            }
        });
        let hits = move || HITS.load(Ordering::SeqCst) - start;
        let stop = move || {
            stop.store(true, Ordering::SeqCst);
            t.join().unwrap();
        };
        (hits, stop)
    }
}
