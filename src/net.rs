//! Non-blocking TCP over IPv4 and IPv6.
