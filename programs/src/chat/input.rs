//! What clients send: reading, line framing in place, chat lines and the
//! commands (/nick, /who, /quit).

use crate::room::{
    self, Chat, Loop, MAX_CLIENTS, MAX_LINE, NICK_CAP, State, broadcast, discard_input, flush,
    leave, pause, post, room,
};
use picosel::Events;
use picosel::Token;
use progs::chatlog::{ALL, NONE};
use progs::fmt::BufWriter;
use progs::framing::{Framed, sanitize};

pub fn on_client(lp: &mut Loop, chat: &mut Chat, _fd: i32, ev: Events, token: Token) {
    let slot = token.0;
    let Some(c) = chat.client(slot) else { return };
    if c.state == State::Linger {
        if discard_input(&c.stream) {
            room::close(lp, chat, slot);
        }
        return;
    }
    if ev.is_writable() || c.state != State::Open {
        chat.now = lp.now_ms();
        flush(lp, chat, slot);
    }
    if ev.is_readable() {
        match chat.client(slot).is_some_and(|c| c.web) {
            true => crate::web::read_ws(lp, chat, slot),
            false => read_input(lp, chat, slot),
        }
    }
}

/// One `recv`, straight into the client's line buffer (the loop calls
/// again while more is waiting), then the lines it completed.
fn read_input(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    let Some(c) = chat.open(slot).filter(|c| !c.paused && !c.eof) else { return };
    match c.stream.recv(c.input.space()) {
        Ok(None) => return,
        Ok(Some(0)) => c.eof = true, // a final line without LF still counts
        Ok(Some(n)) => c.input.filled(n),
        Err(_) => return leave(lp, chat, slot, "left"), // a partial line is dropped
    }
    process_input(lp, chat, slot);
}

/// Handles the client's buffered lines, one at a time, while the log has
/// room for what each posts; otherwise its input is paused (the line stays
/// buffered) until there is room. After end of input, the client leaves.
pub fn process_input(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    for _ in 0..room::IN_CAP {
        let max_line = chat.max_line;
        let Some(c) = chat.open(slot) else { return };
        let eof = c.eof;
        let Some(frame) = c.input.peek(max_line, eof) else {
            if eof {
                leave(lp, chat, slot, "left");
            }
            return;
        };
        let (bytes, count) = need(chat, slot, frame);
        if !room(chat, bytes, count) {
            return pause(lp, chat, slot);
        }
        let Some(c) = chat.client_mut(slot) else { return };
        c.input.pop();
        match frame {
            Framed::Line { start, end } => handle_line(lp, chat, slot, start, end),
            Framed::TooLong => post(chat, slot as u16, NONE, b"error: line too long\n"),
        }
    }
}

/// What handling `frame` may post, in bytes and messages (at most what a
/// paused sender waits for).
fn need(chat: &Chat, slot: usize, frame: Framed) -> (usize, u64) {
    let (cap, count) = room::resume_at(chat);
    let Some(c) = chat.client(slot) else { return (0, 0) };
    let bytes = match frame {
        Framed::TooLong => 32,
        Framed::Line { start, end } => match c.input.bytes(start, end).first() {
            Some(b'/') => 2 * NICK_CAP + 64 + chat.present * (NICK_CAP + 1),
            _ => c.nick_len + 3 + (end - start),
        },
    };
    (bytes.min(cap), 4.min(count))
}

fn handle_line(lp: &mut Loop, chat: &mut Chat, slot: usize, start: usize, end: usize) {
    let Some(c) = chat.client(slot) else { return };
    let line = c.input.bytes(start, end);
    if line.is_empty() {
        return;
    }
    if line.first() == Some(&b'/') {
        // Commands are short: a copy of the start leaves `chat` free.
        let mut cmd = [0u8; 80];
        let n = line.len().min(cmd.len());
        if let (Some(dst), Some(src)) = (cmd.get_mut(..n), line.get(..n)) {
            dst.copy_from_slice(src);
        }
        return command(lp, chat, slot, cmd.get(1..n).unwrap_or(&[]));
    }
    room::announce_joins(lp, chat);
    // A browser gets its own lines back too: the page shows what it sent
    // only when the room has it (nothing is echoed locally), in order.
    let web = chat.client(slot).is_some_and(|c| c.web);
    let except = if chat.echo_self || web { NONE } else { slot as u16 };
    room::owed(chat, ALL);
    let Chat { clients, log, .. } = chat;
    let Some(c) = clients.get(slot).and_then(Option::as_ref) else { return };
    let line = c.input.bytes(start, end);
    let nick = c.nick.get(..c.nick_len).unwrap_or(&[]);
    let max = nick.len() + 3 + line.len().min(MAX_LINE);
    // `NICK: text\n`, sanitized straight into the log.
    log.append_with(ALL, except, max, |dst| {
        let head = {
            let mut w = BufWriter::new(&mut *dst);
            w.push_bytes(nick);
            w.push_bytes(b": ");
            w.len()
        };
        let text = dst.get_mut(head..).unwrap_or(&mut []);
        let room = text.len().saturating_sub(1);
        let n = sanitize(line, text.get_mut(..room).unwrap_or(&mut []));
        match text.get_mut(n) {
            Some(b) => {
                *b = b'\n';
                head + n + 1
            }
            None => head + n,
        }
    });
}

fn command(lp: &mut Loop, chat: &mut Chat, slot: usize, cmd: &[u8]) {
    let (name, arg) = match cmd.iter().position(|&b| b == b' ' || b == b'\t') {
        Some(i) => (cmd.get(..i).unwrap_or(&[]), trim(cmd.get(i + 1..).unwrap_or(&[]))),
        None => (cmd, &[][..]),
    };
    match name {
        b"nick" => set_nick(lp, chat, slot, arg),
        b"who" => who(chat, slot),
        b"quit" => {
            post(chat, slot as u16, NONE, b"* bye\n");
            leave(lp, chat, slot, "left");
        }
        _ => {
            post(chat, slot as u16, NONE, b"error: unknown command (try /nick NAME, /who, /quit)\n")
        }
    }
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(s.len());
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or(&[])
}

/// A nick is 1-32 letters, digits, '_', '-' or '.', not only digits and
/// dots (that is an address: the default nicks of TCP clients are
/// `ADDR:PORT`), and unique without regard to ASCII case.
fn nick_error(chat: &Chat, slot: usize, name: &[u8]) -> Option<&'static [u8]> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if !valid {
        return Some(b"error: a nick is 1-32 letters, digits, '_', '-' or '.'\n");
    }
    if name.iter().all(|&b| b.is_ascii_digit() || b == b'.') {
        return Some(b"error: a nick cannot look like an address\n");
    }
    let taken = chat.live.get(..chat.live_len).unwrap_or(&[]).iter().any(|&j| {
        usize::from(j) != slot
            && chat.client(usize::from(j)).is_some_and(|c| {
                c.state == State::Open
                    && c.nick.get(..c.nick_len).is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
    });
    taken.then_some(b"error: that nick is taken\n")
}

/// The default nick of a Unix socket client: `unix-PID`, PID being the
/// connecting process (`SO_PEERCRED`; 0 if unknown), or `unix-PID-K` with
/// the smallest K from 2 that no client in the room has when `unix-PID` is
/// taken (the same process connected twice, or someone chose it). Unique
/// as a /nick is (without regard to case) and, having letters, never like
/// an address. Writes it to `nick` and returns its length.
pub fn unix_nick(chat: &Chat, pid: i32, nick: &mut [u8; NICK_CAP]) -> usize {
    let base = progs::fmt::concat(nick, &[&"unix-", &pid]).len();
    // Bit K: `unix-PID-K` is taken (bit 1: `unix-PID` itself). Fewer than
    // MAX_CLIENTS others are in the room, so one of 1..=MAX_CLIENTS is free.
    let mut used = [0u64; MAX_CLIENTS.div_ceil(64) + 1];
    let stem = nick.get(..base).unwrap_or(&[]);
    for &j in chat.live.get(..chat.live_len).unwrap_or(&[]) {
        let Some(c) = chat.client(usize::from(j)).filter(|c| c.state == State::Open) else {
            continue;
        };
        let Some(k) = c.nick.get(..c.nick_len).and_then(|n| suffix_of(n, stem)) else { continue };
        if let Some(word) = used.get_mut(k / 64) {
            *word |= 1 << (k % 64);
        }
    }
    let free =
        (1..64 * used.len()).find(|&k| used.get(k / 64).is_some_and(|w| w & (1 << (k % 64)) == 0));
    match free {
        Some(k) if k > 1 => {
            let mut w = BufWriter::new(nick.get_mut(base..).unwrap_or(&mut []));
            progs::put!(&mut w, "-", k);
            base + w.len()
        }
        _ => base,
    }
}

/// 1 if `nick` is `stem` (ASCII case aside), K if it is `stem-K`.
fn suffix_of(nick: &[u8], stem: &[u8]) -> Option<usize> {
    let (head, rest) = nick.split_at_checked(stem.len())?;
    if !head.eq_ignore_ascii_case(stem) {
        return None;
    }
    match rest {
        [] => Some(1),
        [b'-', digits @ ..] if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            progs::cli::decimal(digits).and_then(|n| usize::try_from(n).ok())
        }
        _ => None,
    }
}

fn set_nick(lp: &mut Loop, chat: &mut Chat, slot: usize, name: &[u8]) {
    if let Some(e) = nick_error(chat, slot, name) {
        return post(chat, slot as u16, NONE, e);
    }
    let Some(client) = chat.client_mut(slot) else { return };
    let mut notice = [0u8; 2 * NICK_CAP + 16];
    let old = client.nick.get(..client.nick_len).unwrap_or(&[]);
    let len = progs::fmt::concat(&mut notice, &[&"* ", &old, &" is now ", &name, &"\n"]).len();
    let Some(nick) = client.nick.get_mut(..name.len()) else { return };
    nick.copy_from_slice(name);
    client.nick_len = name.len();
    let mut own = [0u8; NICK_CAP + 24];
    let olen = progs::fmt::concat(&mut own, &[&"* you are now ", &name, &"\n"]).len();
    post(chat, slot as u16, NONE, own.get(..olen).unwrap_or(&[]));
    broadcast(lp, chat, slot as u16, notice.get(..len).unwrap_or(&[]));
}

fn who(chat: &mut Chat, slot: usize) {
    let mut line = [0u8; 512];
    let mut w = BufWriter::new(&mut line);
    progs::put!(&mut w, "* online (", chat.present, "):");
    let mut len = w.len();
    for k in 0..chat.live_len {
        let Some(j) = chat.live_at(k) else { break };
        let Some(c) = chat.client(j).filter(|c| c.state == State::Open) else { continue };
        let nick = c.nick.get(..c.nick_len).unwrap_or(&[]);
        if len + nick.len() + 2 > line.len() {
            // A full line goes out; the list goes on in the next one.
            len += progs::fmt::concat(line.get_mut(len..).unwrap_or(&mut []), &[&"\n"]).len();
            post(chat, slot as u16, NONE, line.get(..len).unwrap_or(&[]));
            len = progs::fmt::concat(&mut line, &[&"*"]).len();
        }
        let Some(c) = chat.client(j) else { continue };
        let nick = c.nick.get(..c.nick_len).unwrap_or(&[]);
        len += progs::fmt::concat(line.get_mut(len..).unwrap_or(&mut []), &[&" ", &nick]).len();
    }
    len += progs::fmt::concat(line.get_mut(len..).unwrap_or(&mut []), &[&"\n"]).len();
    post(chat, slot as u16, NONE, line.get(..len).unwrap_or(&[]));
}
