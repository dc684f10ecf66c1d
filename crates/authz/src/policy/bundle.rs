//! The stored policies and data as an OPA bundle (`.tar.gz`).
//!
//! The archive holds `.manifest` (`{"revision", "roots", "rego_version": 1}`), `data.json`
//! and one `<name>.rego` per policy, sorted by name, with fixed timestamps and modes, so
//! the same policies, data and revision always give the same bytes (a stable ETag).

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::{PACKAGE_PREFIX, PolicySource};

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// The path inside the archive, e.g. `clearance.rego`.
    pub path: String,
    /// The file's bytes.
    pub contents: Vec<u8>,
}

fn internal(error: std::io::Error) -> kernel::Error {
    kernel::Error::internal(error)
}

/// The roots the bundle owns: `grimos/policies` (the policies' packages) and each
/// top-level key of `data` (`grimos` alone when the data has a `grimos` key).
fn roots(data: &serde_json::Value) -> Vec<String> {
    let mut roots: Vec<String> = data
        .as_object()
        .map(|object| object.keys().cloned().collect())
        .unwrap_or_default();
    if !roots.iter().any(|root| root == "grimos") {
        roots.push(PACKAGE_PREFIX.replace('.', "/"));
    }
    roots.sort();
    roots
}

/// Write `policies` and `data` as an OPA bundle at `revision`.
pub fn bundle(
    policies: &[PolicySource],
    data: &serde_json::Value,
    revision: &str,
) -> Result<Vec<u8>, kernel::Error> {
    let manifest = serde_json::json!({
        "revision": revision,
        "roots": roots(data),
        "rego_version": 1,
    });
    let mut files = vec![
        BundleFile {
            path: ".manifest".to_string(),
            contents: serde_json::to_vec(&manifest).map_err(kernel::Error::internal)?,
        },
        BundleFile {
            path: "data.json".to_string(),
            contents: serde_json::to_vec(data).map_err(kernel::Error::internal)?,
        },
    ];
    let mut sorted: Vec<&PolicySource> = policies.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    files.extend(sorted.into_iter().map(|policy| BundleFile {
        path: policy.file_name(),
        contents: policy.source.as_bytes().to_vec(),
    }));

    let encoder = GzEncoder::new(Vec::new(), Compression::default());
    let mut archive = tar::Builder::new(encoder);
    archive.mode(tar::HeaderMode::Deterministic);
    for file in &files {
        let mut header = tar::Header::new_ustar();
        header.set_size(file.contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        archive
            .append_data(&mut header, &file.path, file.contents.as_slice())
            .map_err(internal)?;
    }
    let mut encoder = archive.into_inner().map_err(internal)?;
    encoder.flush().map_err(internal)?;
    encoder.finish().map_err(internal)
}

/// Read the files of a bundle written by [`bundle`] (or any `.tar.gz`), in archive order.
pub fn read_bundle(bytes: &[u8]) -> Result<Vec<BundleFile>, kernel::Error> {
    let bad = |error: std::io::Error| {
        kernel::Error::new(
            kernel::ErrorKind::BadRequest,
            "bad_request",
            format!("not a readable .tar.gz bundle: {error}"),
        )
    };
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let mut files = Vec::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(bad)?
            .to_string_lossy()
            .trim_start_matches('/')
            .to_string();
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).map_err(bad)?;
        files.push(BundleFile { path, contents });
    }
    Ok(files)
}
