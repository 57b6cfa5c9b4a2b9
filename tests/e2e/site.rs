//! What a site operator meets on a first trial: certificate expiry warnings, the
//! configuration checked in one pass, URLs as browsers send them, the access log of
//! aborted downloads, the open-file limit.

mod aborted_download;
mod browser_urls;
mod chromium;
mod config_errors;
mod expiry;
mod nofile;
mod wildcard_cert;
