//! The header fields of a cached file's plain `200` answer, built once per
//! representation and cloned for each response.
//!
//! Building them costs a hash and a probe per field (content type, validators,
//! `Accept-Ranges`, the security headers, the operator's `header_*` rules) on every
//! request; a clone copies two small arrays and bumps reference counts. The template
//! is built by the same code as an uncached answer ([`super::build_head`]), so the
//! fields and their order are identical either way.
//!
//! Each template also keeps its fields as HTTP/1.1 field lines, written once, which
//! the HTTP/1.1 encoder copies in one piece; the HTTP/2 encoder knows the template by
//! its address ([`crate::service::PreEncoded`]). Map and lines share one `Arc`, so a
//! response takes the template with one reference count.
//!
//! Bounded: at most one template per content coding (identity, gzip, br) per cache
//! entry, and the cache holds at most `FILE_CACHE_MAX_ENTRIES` entries.

use std::sync::Arc;

use http::HeaderMap;

use super::encoding::Coding;
use crate::service::Template;

/// One optional template per representation of an entry.
#[derive(Debug, Default)]
pub(super) struct HeadTemplates {
    /// Indexed by [`slot`]; the `bool` is the `Vary` decision the fields were built
    /// with (a template built under another decision is rebuilt, never reused).
    slots: [Option<(bool, Arc<Template>)>; 3],
}

fn slot(coding: Option<Coding>) -> usize {
    match coding {
        None => 0,
        Some(Coding::Gzip) => 1,
        Some(Coding::Br) => 2,
    }
}

impl HeadTemplates {
    pub fn get(&self, coding: Option<Coding>, vary: bool) -> Option<Arc<Template>> {
        match &self.slots[slot(coding)] {
            Some((v, head)) if *v == vary => Some(Arc::clone(head)),
            _ => None,
        }
    }

    /// Stores `map` with its HTTP/1.1 lines and returns both.
    pub fn set(&mut self, coding: Option<Coding>, vary: bool, map: HeaderMap) -> Arc<Template> {
        let head = Arc::new(Template::new(map));
        self.slots[slot(coding)] = Some((vary, Arc::clone(&head)));
        head
    }

    /// The `coding` variant changed (its validators with it): its template is stale.
    pub fn forget(&mut self, coding: Coding) {
        self.slots[slot(Some(coding))] = None;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use http::header::ETAG;
    use http::HeaderValue;

    fn map(etag: &'static str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(ETAG, HeaderValue::from_static(etag));
        m
    }

    #[test]
    fn template_is_per_coding_and_per_vary_decision() {
        let mut t = HeadTemplates::default();
        t.set(None, false, map("\"a\""));
        t.set(Some(Coding::Gzip), true, map("\"a-gz\""));
        assert_eq!(t.get(None, false).unwrap().fields[ETAG], "\"a\"");
        assert_eq!(
            t.get(None, false).unwrap().h1.as_deref(),
            Some(&b"ETag: \"a\"\r\n"[..])
        );
        assert!(
            t.get(None, true).is_none(),
            "built without Vary: not reused with it"
        );
        assert_eq!(
            t.get(Some(Coding::Gzip), true).unwrap().fields[ETAG],
            "\"a-gz\""
        );
        assert!(t.get(Some(Coding::Br), true).is_none());
        t.forget(Coding::Gzip);
        assert!(t.get(Some(Coding::Gzip), true).is_none());
        assert!(t.get(None, false).is_some());
    }

    #[test]
    fn rfc9112_9_6_template_with_connection_field_has_no_h1_lines() {
        let mut m = HeaderMap::new();
        m.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        let mut t = HeadTemplates::default();
        assert!(t.set(None, false, m).h1.is_none());
    }
}
