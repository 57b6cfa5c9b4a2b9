//! The one error type of the TLS layer.
//!
//! Every message names the file (and, for `ssl_sni` entries, the server name) and says
//! what to do about it. No variant carries key bytes, PEM text or a parser message that
//! might quote them: a log line must be safe to paste into a bug report.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Which of the two files of a certificate/key pair a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    Certificate,
    PrivateKey,
}

impl fmt::Display for FileRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileRole::Certificate => "TLS certificate file",
            FileRole::PrivateKey => "TLS private key file",
        })
    }
}

/// The encoding a private key was found in (RFC 7468 section 10, 11; RFC 5915 section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// `BEGIN PRIVATE KEY` (RFC 5208 / RFC 5958).
    Pkcs8,
    /// `BEGIN RSA PRIVATE KEY` (RFC 8017 appendix A.1.2).
    Pkcs1,
    /// `BEGIN EC PRIVATE KEY` (RFC 5915).
    Sec1,
}

impl fmt::Display for KeyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyFormat::Pkcs8 => "PKCS#8",
            KeyFormat::Pkcs1 => "PKCS#1 RSA",
            KeyFormat::Sec1 => "SEC1 EC",
        })
    }
}

/// Everything that can stop Carbon from building its TLS configuration or writing a
/// self-signed certificate.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// The file does not exist.
    FileMissing { path: PathBuf, role: FileRole },
    /// The file exists but could not be read (permissions, a directory, an I/O error).
    FileUnreadable {
        path: PathBuf,
        role: FileRole,
        source: io::Error,
    },
    /// The PEM framing is broken (a BEGIN line without END, bad base64).
    MalformedPem {
        path: PathBuf,
        role: FileRole,
        reason: &'static str,
    },
    /// The file holds no `BEGIN CERTIFICATE` block.
    NoCertificate { path: PathBuf },
    /// A certificate block decodes but is not a usable X.509 certificate.
    MalformedCertificate { path: PathBuf, reason: String },
    /// The file holds no private key block of a supported encoding.
    NoPrivateKey { path: PathBuf },
    /// The key is password-protected; Carbon starts unattended and cannot prompt.
    EncryptedPrivateKey { path: PathBuf },
    /// The key decodes but is not RSA (2048 bits or more), ECDSA P-256/P-384 or Ed25519.
    UnsupportedKey { path: PathBuf, format: KeyFormat },
    /// The private key is not the one the leaf certificate was issued for.
    KeyMismatch { cert: PathBuf, key: PathBuf },
    /// An `ssl_sni` server name is not a DNS name or `*.` plus a DNS name.
    InvalidSniName { name: String, reason: &'static str },
    /// Two `ssl_sni` entries name the same server.
    DuplicateSniName { name: String },
    /// A problem with the files of one `ssl_sni` entry.
    Sni { name: String, error: Box<TlsError> },
    /// rustls refused the assembled configuration, or could not get randomness for the
    /// session-ticket keys.
    Rustls(rustls::Error),
    /// `ssl_ticket_key_file` is unreadable or not a list of 80-byte keys (the reason
    /// names the file, never the key bytes).
    TicketKeys { reason: String },
    /// A name given for the self-signed certificate is not a DNS name or IP address.
    InvalidCertificateName { name: String },
    /// rcgen could not generate the key or the certificate.
    Generate { reason: String },
    /// The output directory could not be created.
    CreateDir { path: PathBuf, source: io::Error },
    /// A file to be written already exists; Carbon never overwrites a key.
    WouldOverwrite { path: PathBuf },
    /// A generated file could not be written.
    WriteFile { path: PathBuf, source: io::Error },
    /// More than one of the above; configuration checks report every problem at once.
    Several(Vec<TlsError>),
}

impl TlsError {
    /// Every individual error, flattening [`TlsError::Several`].
    pub fn errors(&self) -> Vec<&TlsError> {
        match self {
            TlsError::Several(all) => all.iter().flat_map(TlsError::errors).collect(),
            one => vec![one],
        }
    }

    /// Every individual error, owned, flattening [`TlsError::Several`].
    pub fn into_errors(self) -> Vec<TlsError> {
        match self {
            TlsError::Several(all) => all.into_iter().flat_map(TlsError::into_errors).collect(),
            one => vec![one],
        }
    }

    /// The error itself when there is one, [`TlsError::Several`] otherwise.
    pub(crate) fn combine(mut errors: Vec<TlsError>) -> TlsError {
        if errors.len() == 1 {
            errors.remove(0)
        } else {
            TlsError::Several(errors)
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::FileMissing { path, role } => {
                write!(f, "{role} {}: no such file", path.display())
            }
            TlsError::FileUnreadable { path, role, source } => {
                write!(f, "{role} {}: cannot read it: {source}", path.display())
            }
            TlsError::MalformedPem { path, role, reason } => {
                write!(f, "{role} {}: malformed PEM: {reason}", path.display())
            }
            TlsError::NoCertificate { path } => write!(
                f,
                "TLS certificate file {}: no \"BEGIN CERTIFICATE\" block found",
                path.display()
            ),
            TlsError::MalformedCertificate { path, reason } => write!(
                f,
                "TLS certificate file {}: not a valid X.509 certificate: {reason}",
                path.display()
            ),
            TlsError::NoPrivateKey { path } => write!(
                f,
                "TLS private key file {}: no private key found (expected a PEM block \
                 \"BEGIN PRIVATE KEY\", \"BEGIN RSA PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\")",
                path.display()
            ),
            TlsError::EncryptedPrivateKey { path } => write!(
                f,
                "TLS private key file {}: the key is encrypted; Carbon cannot prompt for a \
                 passphrase, store it unencrypted (e.g. `openssl pkey -in KEY -out KEY.plain`) \
                 with mode 0600",
                path.display()
            ),
            TlsError::UnsupportedKey { path, format } => write!(
                f,
                "TLS private key file {}: unsupported {format} key (supported: RSA of 2048 \
                 bits or more, ECDSA P-256 or P-384, Ed25519)",
                path.display()
            ),
            TlsError::KeyMismatch { cert, key } => write!(
                f,
                "TLS private key file {} does not match the certificate in {} (the leaf \
                 certificate must come first in the file)",
                key.display(),
                cert.display()
            ),
            TlsError::InvalidSniName { name, reason } => {
                write!(f, "ssl_sni server name {name:?}: {reason}")
            }
            TlsError::DuplicateSniName { name } => {
                write!(f, "ssl_sni server name {name:?} is listed more than once")
            }
            TlsError::Sni { name, error } => write!(f, "ssl_sni entry {name:?}: {error}"),
            TlsError::Rustls(e) => write!(f, "TLS configuration rejected by rustls: {e}"),
            TlsError::TicketKeys { reason } => write!(f, "ssl_ticket_key_file {reason}"),
            TlsError::InvalidCertificateName { name } => write!(
                f,
                "self-signed certificate: {name:?} is neither a DNS name nor an IP address"
            ),
            TlsError::Generate { reason } => {
                write!(f, "self-signed certificate: generation failed: {reason}")
            }
            TlsError::CreateDir { path, source } => {
                write!(f, "cannot create directory {}: {source}", path.display())
            }
            TlsError::WouldOverwrite { path } => write!(
                f,
                "{} already exists; remove it first (Carbon never overwrites a key or certificate)",
                path.display()
            ),
            TlsError::WriteFile { path, source } => {
                write!(f, "cannot write {}: {source}", path.display())
            }
            TlsError::Several(all) => {
                for (i, e) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::FileUnreadable { source, .. }
            | TlsError::CreateDir { source, .. }
            | TlsError::WriteFile { source, .. } => Some(source),
            TlsError::Rustls(e) => Some(e),
            TlsError::Sni { error, .. } => Some(error.as_ref()),
            _ => None,
        }
    }
}
