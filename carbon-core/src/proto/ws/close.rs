//! Close codes and the close handshake's payload rules (RFC 6455 §5.5.1, §7.4).

use super::utf8;

/// A status code carried in a Close frame (RFC 6455 §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// Server going down or idle connection closed (§7.4.1).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// Never sent on the wire: "no status code was present" (§7.4.1).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// Never sent on the wire: closed without a Close frame (§7.4.1).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// Invalid UTF-8 in a text message (§8.1).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);

    /// Whether a peer may send this code in a Close frame (§7.4.1, §7.4.2, and the
    /// IANA registry of §11.7: 1012-1014 were registered later). 1004, 1005, 1006
    /// and 1015 are reserved and must not be sent; 1016-2999 are unassigned protocol
    /// codes; 3000-4999 belong to libraries and applications; the rest is invalid.
    pub fn is_valid_on_wire(code: u16) -> bool {
        matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

/// A parsed Close payload: `None` when the peer sent no code (§5.5.1).
pub type ClosePayload<'a> = Option<(CloseCode, &'a str)>;

/// Parses a Close frame's payload. A 1-byte payload or an invalid code is a protocol
/// error (1002); a reason that is not UTF-8 is 1007 (§5.5.1: "the data ... MUST be
/// UTF-8").
pub fn parse_close_payload(payload: &[u8]) -> Result<ClosePayload<'_>, CloseCode> {
    match payload {
        [] => Ok(None),
        [_] => Err(CloseCode::PROTOCOL_ERROR),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !CloseCode::is_valid_on_wire(code) {
                return Err(CloseCode::PROTOCOL_ERROR);
            }
            if !utf8::is_valid(reason) {
                return Err(CloseCode::INVALID_PAYLOAD);
            }
            // Validated just above; from_utf8 cannot fail here.
            let reason = std::str::from_utf8(reason).map_err(|_| CloseCode::INVALID_PAYLOAD)?;
            Ok(Some((CloseCode(code), reason)))
        }
    }
}

/// The payload of a Close frame we send: code then a reason cut to fit the 125-byte
/// control-frame limit (§5.5) on a character boundary.
pub fn close_payload(code: CloseCode, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(super::frame::MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut p = Vec::with_capacity(2 + end);
    p.extend_from_slice(&code.0.to_be_bytes());
    p.extend_from_slice(&reason.as_bytes()[..end]);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_7_4_every_code_class() {
        for code in 0..=u16::MAX {
            let p = code.to_be_bytes();
            let expect_ok = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            let got = parse_close_payload(&p);
            if expect_ok {
                assert_eq!(got, Ok(Some((CloseCode(code), ""))), "{code}");
            } else {
                assert_eq!(got, Err(CloseCode::PROTOCOL_ERROR), "{code}");
            }
        }
        // Spot checks of the classes named in the RFC.
        for bad in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            assert!(!CloseCode::is_valid_on_wire(bad), "{bad}");
        }
        for good in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999,
        ] {
            assert!(CloseCode::is_valid_on_wire(good), "{good}");
        }
    }

    #[test]
    fn rfc6455_5_5_1_one_byte_close_payload_is_protocol_error() {
        assert_eq!(parse_close_payload(&[3]), Err(CloseCode::PROTOCOL_ERROR));
        assert_eq!(parse_close_payload(&[]), Ok(None));
    }

    #[test]
    fn rfc6455_5_5_1_close_reason_must_be_utf8() {
        let mut p = vec![0x03, 0xe8];
        p.extend_from_slice(b"bye \xce\xba\xe1");
        assert_eq!(parse_close_payload(&p), Err(CloseCode::INVALID_PAYLOAD));
        let mut p = vec![0x03, 0xe8];
        p.extend_from_slice("bye κ".as_bytes());
        assert_eq!(
            parse_close_payload(&p),
            Ok(Some((CloseCode::NORMAL, "bye κ")))
        );
    }

    #[test]
    fn rfc6455_5_5_our_close_reason_fits_a_control_frame_on_a_char_boundary() {
        let long = "é".repeat(100);
        let p = close_payload(CloseCode::GOING_AWAY, &long);
        assert!(p.len() <= 125);
        assert!(std::str::from_utf8(&p[2..]).is_ok());
    }
}
