//! Checkpoints: one safetensors file holding the model tensors (`model/<name>`),
//! the optimizer state (`opt/<name>`) and a JSON metadata string (step, epoch,
//! seed of the data order, the resolved run configuration) under the key
//! `lrate`. Files are written atomically: temp file, fsync, rename.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::nn::NamedTensor;

/// Metadata key holding the JSON.
pub const META_KEY: &str = "lrate";

/// What a checkpoint holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// JSON metadata.
    pub meta: String,
    /// Model tensors.
    pub model: Vec<NamedTensor>,
    /// Optimizer tensors.
    pub optimizer: Vec<NamedTensor>,
}

/// Writes `bytes` to `path` through `path.tmp` plus a rename, so that a reader
/// (or a run killed half-way) sees either the old file or the new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("{}: cannot create", tmp.display()))?;
        // Half, a pause point for kill tests (crate::pause), then the rest.
        let (head, rest) = bytes.split_at(bytes.len() / 2);
        let written = f
            .write_all(head)
            .and_then(|_| {
                f.flush()?;
                crate::pause::at("write", &path.display().to_string());
                f.write_all(rest)
            })
            .and_then(|_| f.sync_all());
        if let Err(e) = written {
            // A part-written temporary file only takes space (on a full disk, the space
            // the user needs to resume); the previous file is untouched either way.
            drop(f);
            let _ = std::fs::remove_file(&tmp);
            return Err(e).with_context(|| format!("{}: write failed", tmp.display()));
        }
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

impl Checkpoint {
    /// Serialises to safetensors bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = self
            .model
            .iter()
            .map(|t| ("model/", t))
            .chain(self.optimizer.iter().map(|t| ("opt/", t)))
            .map(|(p, (name, shape, data))| {
                let b: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
                (format!("{p}{name}"), shape.clone(), b)
            })
            .collect();
        let mut views = Vec::with_capacity(bytes.len());
        for (name, shape, b) in &bytes {
            let n: usize = shape.iter().product();
            if n * 4 != b.len() {
                bail!(
                    "tensor `{name}`: shape {shape:?} does not match {} values",
                    b.len() / 4
                );
            }
            views.push((name.clone(), TensorView::new(Dtype::F32, shape.clone(), b)?));
        }
        let meta = HashMap::from([(META_KEY.to_string(), self.meta.clone())]);
        Ok(safetensors::serialize(views, &Some(meta))?)
    }

    /// Parses safetensors bytes; `path` only names the file in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes)
            .with_context(|| format!("{}: not a valid safetensors checkpoint", path.display()))?;
        let (_, header) = SafeTensors::read_metadata(bytes)
            .with_context(|| format!("{}: bad safetensors header", path.display()))?;
        let meta = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(META_KEY))
            .cloned()
            .with_context(|| {
                format!(
                    "{}: no `{META_KEY}` metadata (not an lrate checkpoint)",
                    path.display()
                )
            })?;
        let mut ck = Checkpoint {
            meta,
            model: Vec::new(),
            optimizer: Vec::new(),
        };
        let mut tensors = st.tensors();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, view) in tensors {
            if view.dtype() != Dtype::F32 {
                bail!(
                    "{}: tensor `{name}` is {:?}, expected F32",
                    path.display(),
                    view.dtype()
                );
            }
            let data: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let t = (String::new(), view.shape().to_vec(), data);
            if let Some(n) = name.strip_prefix("model/") {
                ck.model.push((n.to_string(), t.1, t.2));
            } else if let Some(n) = name.strip_prefix("opt/") {
                ck.optimizer.push((n.to_string(), t.1, t.2));
            } else {
                bail!("{}: unexpected tensor `{name}`", path.display());
            }
        }
        Ok(ck)
    }

    /// Writes `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }

    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("{}: cannot read checkpoint", path.display()))?;
        Self::from_bytes(&bytes, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.safetensors");
        let ck = Checkpoint {
            meta: r#"{"step":3}"#.into(),
            model: vec![
                (
                    "a.weight".into(),
                    vec![2, 3],
                    (0..6).map(|v| v as f32).collect(),
                ),
                ("b".into(), vec![], vec![7.5]),
            ],
            optimizer: vec![("a.weight.m".into(), vec![6], vec![0.25; 6])],
        };
        ck.save(&p).unwrap();
        assert!(!d.path().join("c.safetensors.tmp").exists());
        assert_eq!(Checkpoint::load(&p).unwrap(), ck);
        std::fs::write(&p, b"garbage").unwrap();
        let e = format!("{:#}", Checkpoint::load(&p).unwrap_err());
        assert!(e.contains("c.safetensors"), "{e}");
    }
}
