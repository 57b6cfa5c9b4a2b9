//! Media types by file extension (RFC 6838 registrations, WHATWG MIME sniffing is
//! deliberately not done: `X-Content-Type-Options: nosniff` asks browsers to trust us).
//!
//! Owns the extension table and two properties per type: the `Content-Type` value to
//! send and whether a gzip variant is worth producing. It never touches the file.

/// What the file service needs to know about one media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MediaType {
    /// The complete `Content-Type` field value, charset included for text.
    pub value: &'static str,
    /// Worth gzip-compressing: text formats and uncompressed binary formats. Already
    /// compressed formats (images, audio, video, archives, woff) gain nothing.
    pub compressible: bool,
}

/// RFC 9110 §8.3: a sender should send a type; when none is known the recipient is told
/// "bytes", never guessed text (which would invite sniffing).
pub(super) const OCTET_STREAM: MediaType = MediaType {
    value: "application/octet-stream",
    compressible: false,
};

const fn compressible(value: &'static str) -> MediaType {
    MediaType {
        value,
        compressible: true,
    }
}

const fn compressed(value: &'static str) -> MediaType {
    MediaType {
        value,
        compressible: false,
    }
}

/// Extension (lower case, no dot) -> type. Every textual type carries
/// `charset=utf-8` so browsers never fall back to a legacy encoding (a classic XSS
/// vector via UTF-7 guessing).
const TABLE: &[(&str, MediaType)] = &[
    // Web documents and code.
    ("html", compressible("text/html; charset=utf-8")),
    ("htm", compressible("text/html; charset=utf-8")),
    (
        "xhtml",
        compressible("application/xhtml+xml; charset=utf-8"),
    ),
    ("css", compressible("text/css; charset=utf-8")),
    // RFC 9239 §3 makes text/javascript the one JavaScript type.
    ("js", compressible("text/javascript; charset=utf-8")),
    ("mjs", compressible("text/javascript; charset=utf-8")),
    ("cjs", compressible("text/javascript; charset=utf-8")),
    ("json", compressible("application/json; charset=utf-8")),
    ("map", compressible("application/json; charset=utf-8")),
    ("jsonld", compressible("application/ld+json; charset=utf-8")),
    (
        "webmanifest",
        compressible("application/manifest+json; charset=utf-8"),
    ),
    ("xml", compressible("application/xml; charset=utf-8")),
    ("xsl", compressible("application/xml; charset=utf-8")),
    ("rss", compressible("application/rss+xml; charset=utf-8")),
    ("atom", compressible("application/atom+xml; charset=utf-8")),
    ("svg", compressible("image/svg+xml; charset=utf-8")),
    (
        "appcache",
        compressible("text/cache-manifest; charset=utf-8"),
    ),
    ("wasm", compressible("application/wasm")),
    // Plain text and data.
    ("txt", compressible("text/plain; charset=utf-8")),
    ("text", compressible("text/plain; charset=utf-8")),
    ("log", compressible("text/plain; charset=utf-8")),
    ("csv", compressible("text/csv; charset=utf-8")),
    (
        "tsv",
        compressible("text/tab-separated-values; charset=utf-8"),
    ),
    ("md", compressible("text/markdown; charset=utf-8")),
    ("markdown", compressible("text/markdown; charset=utf-8")),
    // RFC 9512 registers application/yaml.
    ("yaml", compressible("application/yaml; charset=utf-8")),
    ("yml", compressible("application/yaml; charset=utf-8")),
    ("toml", compressible("application/toml; charset=utf-8")),
    ("sh", compressible("application/x-sh; charset=utf-8")),
    ("ics", compressible("text/calendar; charset=utf-8")),
    ("vtt", compressible("text/vtt; charset=utf-8")),
    ("rtf", compressible("application/rtf")),
    // Images. ico and bmp are usually uncompressed bitmaps.
    ("png", compressed("image/png")),
    ("apng", compressed("image/apng")),
    ("jpg", compressed("image/jpeg")),
    ("jpeg", compressed("image/jpeg")),
    ("gif", compressed("image/gif")),
    ("webp", compressed("image/webp")),
    ("avif", compressed("image/avif")),
    ("jxl", compressed("image/jxl")),
    ("tif", compressed("image/tiff")),
    ("tiff", compressed("image/tiff")),
    ("ico", compressible("image/x-icon")),
    ("bmp", compressible("image/bmp")),
    // Fonts: woff/woff2 are compressed containers, the others are not.
    ("woff", compressed("font/woff")),
    ("woff2", compressed("font/woff2")),
    ("ttf", compressible("font/ttf")),
    ("otf", compressible("font/otf")),
    ("eot", compressible("application/vnd.ms-fontobject")),
    // Documents and archives.
    ("pdf", compressed("application/pdf")),
    ("epub", compressed("application/epub+zip")),
    ("zip", compressed("application/zip")),
    ("gz", compressed("application/gzip")),
    ("tgz", compressed("application/gzip")),
    ("tar", compressible("application/x-tar")),
    ("bz2", compressed("application/x-bzip2")),
    ("xz", compressed("application/x-xz")),
    ("zst", compressed("application/zstd")),
    ("7z", compressed("application/x-7z-compressed")),
    // Audio.
    ("mp3", compressed("audio/mpeg")),
    ("ogg", compressed("audio/ogg")),
    ("oga", compressed("audio/ogg")),
    ("opus", compressed("audio/ogg")),
    ("wav", compressed("audio/wav")),
    ("m4a", compressed("audio/mp4")),
    ("aac", compressed("audio/aac")),
    ("flac", compressed("audio/flac")),
    ("weba", compressed("audio/webm")),
    ("mid", compressed("audio/midi")),
    ("midi", compressed("audio/midi")),
    // Video.
    ("mp4", compressed("video/mp4")),
    ("m4v", compressed("video/mp4")),
    ("webm", compressed("video/webm")),
    ("ogv", compressed("video/ogg")),
    ("mov", compressed("video/quicktime")),
    ("mkv", compressed("video/x-matroska")),
    ("avi", compressed("video/x-msvideo")),
    ("mpeg", compressed("video/mpeg")),
    ("mpg", compressed("video/mpeg")),
];

/// The media type for a file name, by its last extension, ignoring ASCII case.
/// `name` is the final path segment as requested (bytes, since names need not be UTF-8).
pub(super) fn for_name(name: &[u8]) -> MediaType {
    let Some(dot) = name.iter().rposition(|&b| b == b'.') else {
        return OCTET_STREAM;
    };
    let ext = &name[dot + 1..];
    TABLE
        .iter()
        .find(|(known, _)| known.as_bytes().eq_ignore_ascii_case(ext))
        .map_or(OCTET_STREAM, |(_, media)| *media)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    #[test]
    fn rfc9110_8_3_known_extensions_ignore_case() {
        assert_eq!(for_name(b"index.HTML").value, "text/html; charset=utf-8");
        assert_eq!(for_name(b"app.Js").value, "text/javascript; charset=utf-8");
        assert_eq!(for_name(b"mod.mjs").value, "text/javascript; charset=utf-8");
        assert_eq!(for_name(b"photo.JPeG").value, "image/jpeg");
        assert_eq!(
            for_name(b"site.webmanifest").value,
            "application/manifest+json; charset=utf-8"
        );
        assert_eq!(for_name(b"font.woff2").value, "font/woff2");
        assert_eq!(for_name(b"a.b.wasm").value, "application/wasm");
        assert_eq!(for_name(b"clip.mov").value, "video/quicktime");
    }

    #[test]
    fn rfc9110_8_3_unknown_or_missing_extension_is_octet_stream() {
        assert_eq!(for_name(b"README"), OCTET_STREAM);
        assert_eq!(for_name(b"archive.unknownext"), OCTET_STREAM);
        assert_eq!(for_name(b"trailingdot."), OCTET_STREAM);
        assert_eq!(for_name(b"\xff\xfe.bin"), OCTET_STREAM);
    }

    #[test]
    fn rfc6838_4_2_1_every_text_type_declares_utf8() {
        for (ext, media) in TABLE {
            let textual = media.value.starts_with("text/")
                || media.value.contains("json")
                || media.value.contains("xml")
                || media.value.contains("yaml")
                || media.value.contains("toml");
            if textual {
                assert!(media.value.ends_with("; charset=utf-8"), "{ext}");
                assert!(media.compressible, "{ext}");
            }
        }
    }

    #[test]
    fn table_has_no_duplicates_and_is_lower_case() {
        for (i, (ext, _)) in TABLE.iter().enumerate() {
            assert_eq!(*ext, ext.to_ascii_lowercase());
            assert!(
                TABLE[i + 1..].iter().all(|(other, _)| other != ext),
                "{ext}"
            );
        }
    }

    #[test]
    fn compressed_formats_are_not_recompressed() {
        for name in [&b"a.png"[..], b"a.woff2", b"a.gz", b"a.mp4", b"a.zip"] {
            assert!(!for_name(name).compressible);
        }
        for name in [&b"a.css"[..], b"a.svg", b"a.wasm", b"a.json", b"a.ico"] {
            assert!(for_name(name).compressible);
        }
    }
}
