//! The access log reports the body bytes actually sent (nginx's `$body_bytes_sent`):
//! a large download cut off by the client after a few MB logs about that much, not
//! the file's length.

use std::io::Read;
use std::time::{Duration, Instant};

use crate::harness::Server;

const FILE_LEN: u64 = 512 * 1024 * 1024;
const READ_BEFORE_ABORT: usize = 4 * 1024 * 1024;

fn logged_line(s: &Server, needle: &str) -> String {
    let path = s.base().join("access.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(l) = text.lines().find(|l| l.contains(needle)) {
            return l.to_string();
        }
        assert!(Instant::now() < deadline, "no line for {needle}:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `"GET /x HTTP/1.1" 200 N` -> N.
fn logged_bytes(line: &str) -> u64 {
    let after = line.split("\" ").nth(1).unwrap();
    after.split(' ').nth(1).unwrap().parse().unwrap()
}

#[test]
fn access_log_body_bytes_sent_of_aborted_download_is_what_was_sent() {
    let s = Server::start("access_log = {base}/access.log");
    // Sparse: 512 MiB on disk costs nothing, and is far over the file cache's limit,
    // so it goes out with sendfile.
    let f = std::fs::File::create(s.www().join("huge.bin")).unwrap();
    f.set_len(FILE_LEN).unwrap();
    drop(f);

    let mut c = s.connect();
    c.send(b"GET /huge.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let mut stream = c.stream.try_clone().unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0usize;
    while got < READ_BEFORE_ABORT {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "server closed early after {got} bytes");
        got += n;
    }
    // Closing with unread data makes the kernel reset the connection: the server's
    // next write fails and the transfer ends there.
    drop(stream);
    drop(c);

    let line = logged_line(&s, "/huge.bin");
    let bytes = logged_bytes(&line);
    assert!(line.contains("\" 200 "), "{line}");
    // At least what we read (minus the head), at most that plus what the two
    // kernels' socket buffers held, and never the full length.
    assert!(bytes + 1024 >= got as u64, "{line} (read {got})");
    assert!(bytes < got as u64 + 64 * 1024 * 1024, "{line} (read {got})");
    assert!(bytes < FILE_LEN, "{line}");

    // A download that completes logs its full length.
    let mut small = vec![0u8; 100_000];
    small[0] = 1;
    std::fs::write(s.www().join("whole.bin"), &small).unwrap();
    let r = s.get("/whole.bin", "");
    assert_eq!(r.body.len(), 100_000);
    assert_eq!(logged_bytes(&logged_line(&s, "/whole.bin")), 100_000);
}
