//! Configuration errors: where the problem is (file and line, or environment
//! variable), which key, and what is wrong with it.
//!
//! Loading collects every error instead of stopping at the first, so an operator
//! fixes a file in one pass; [`ConfigErrors`] prints them one per line.

use std::fmt;
use std::path::PathBuf;

/// Where a setting (or a problem) came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of the configuration file; `line` is `None` for problems with the
    /// file as a whole or with built-in defaults.
    File { path: PathBuf, line: Option<usize> },
    /// A `CARBON_<KEY>` environment variable.
    Env { var: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File {
                path,
                line: Some(line),
            } => write!(f, "{}:{line}", path.display()),
            Origin::File { path, line: None } => write!(f, "{}", path.display()),
            Origin::Env { var } => write!(f, "environment variable {var}"),
        }
    }
}

/// What is wrong with one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// The text is not of the expected form.
    Invalid { value: String, expected: String },
    /// Well-formed but outside the allowed range (given as text, e.g. `1..=1000000`).
    OutOfRange { value: String, range: String },
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::Invalid { value, expected } => {
                write!(
                    f,
                    "invalid value `{}`: expected {expected}",
                    Printable(value)
                )
            }
            ValueError::OutOfRange { value, range } => {
                write!(
                    f,
                    "value `{}` is out of range (allowed: {range})",
                    Printable(value)
                )
            }
        }
    }
}

/// The kind of a configuration error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read (the OS error as text: `io::Error` is not `Clone`).
    Unreadable(String),
    /// A non-comment line without `=`.
    MissingEquals { line_text: String },
    /// The text left of `=` is not a lowercase key name.
    BadKeyName,
    /// A quoted value without its closing quote.
    UnterminatedQuote,
    /// Something other than a comment after a closing quote.
    TextAfterQuote,
    /// Not one of [`super::KEYS`].
    UnknownKey { suggestion: Option<&'static str> },
    /// A key given twice in the file (only `ssl_sni` may repeat).
    Duplicate { first_line: usize },
    /// The value of the key is unusable.
    Value(ValueError),
    /// Two settings that cannot hold together.
    Conflict(String),
    /// A key for a capability this version does not have yet.
    Unavailable(&'static str),
    /// A `[site ...]` header or section that cannot be used (`site.rs`).
    Section(String),
}

/// One configuration error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub origin: Origin,
    /// The key concerned, when the line got far enough to name one.
    pub key: Option<String>,
    pub kind: ErrorKind,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.origin)?;
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        match &self.kind {
            ErrorKind::Unreadable(why) => write!(f, "cannot read configuration file: {why}"),
            ErrorKind::MissingEquals { line_text } => {
                write!(f, "expected `key = value`, found `{line_text}`")
            }
            ErrorKind::BadKeyName => f.write_str("key names are lowercase letters, digits and `_`"),
            ErrorKind::UnterminatedQuote => f.write_str("quoted value has no closing quote"),
            ErrorKind::TextAfterQuote => {
                f.write_str("only a `#` comment may follow the closing quote")
            }
            // From the environment the fix is a variable name, in upper case.
            ErrorKind::UnknownKey {
                suggestion: Some(s),
            } if matches!(self.origin, Origin::Env { .. }) => write!(
                f,
                "unknown variable; did you mean `CARBON_{}`?",
                s.to_ascii_uppercase()
            ),
            ErrorKind::UnknownKey {
                suggestion: Some(s),
            } => write!(f, "unknown key; did you mean `{s}`?"),
            ErrorKind::UnknownKey { suggestion: None } => f.write_str("unknown key"),
            ErrorKind::Duplicate { first_line } => {
                write!(f, "given twice (first on line {first_line})")
            }
            ErrorKind::Value(v) => v.fmt(f),
            ErrorKind::Conflict(why) => f.write_str(why),
            ErrorKind::Unavailable(why) => f.write_str(why),
            ErrorKind::Section(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A value as the operator typed it, with control characters escaped so one error
/// stays on one line (quotes are left alone: they are part of what was typed).
struct Printable<'a>(&'a str);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

/// Every error found while loading one configuration, in file order, then
/// environment overrides, then checks across keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when some error concerns `key`: a check of that key's value on the
    /// file system would only repeat it (or test a default the operator never chose).
    pub fn concerns(&self, key: &str) -> bool {
        self.0.iter().any(|e| e.key.as_deref() == Some(key))
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            e.fmt(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
