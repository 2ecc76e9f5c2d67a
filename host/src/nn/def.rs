//! [`ModelDef`]: the network of a run, a built-in (`cnn-s`, `resnet9`, `mlp`) or a model
//! file, with the TOML text that describes it.
//!
//! The built-ins are model files too (`host/models/*.toml`, embedded with `include_str!`),
//! so every network is built one way, from its [`ModelSpec`]. A run records its network in
//! the checkpoint: a built-in by name, a file by its name and whole text, so that
//! `--resume` and `lrate predict` rebuild it without the file and notice when a file of
//! the same name now describes another network.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::spec::ModelSpec;
use super::ModelKind;

/// The TOML of a built-in network.
pub fn builtin_toml(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::CnnS => include_str!("../../models/cnn-s.toml"),
        ModelKind::ResNet9 => include_str!("../../models/resnet9.toml"),
        ModelKind::Mlp => include_str!("../../models/mlp.toml"),
    }
}

/// A network to build: its label (`cnn-s`, or the file's path as given), the TOML text and
/// its parsed layers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Repr", into = "Repr")]
pub struct ModelDef {
    label: String,
    builtin: Option<ModelKind>,
    toml: String,
    spec: ModelSpec,
}

/// How a [`ModelDef`] is stored: a built-in by its name, a file with its text.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Builtin(String),
    File { file: String, toml: String },
}

impl From<ModelDef> for Repr {
    fn from(d: ModelDef) -> Repr {
        match d.builtin {
            Some(k) => Repr::Builtin(k.name().to_string()),
            None => Repr::File {
                file: d.label,
                toml: d.toml,
            },
        }
    }
}

impl TryFrom<Repr> for ModelDef {
    type Error = String;
    fn try_from(r: Repr) -> Result<Self, String> {
        match r {
            Repr::Builtin(name) => name
                .parse::<ModelKind>()
                .map(ModelDef::from)
                .map_err(|e| e.to_string()),
            Repr::File { file, toml } => ModelDef::from_toml(&file, &toml),
        }
    }
}

impl From<ModelKind> for ModelDef {
    fn from(kind: ModelKind) -> ModelDef {
        let toml = builtin_toml(kind);
        let spec = ModelSpec::parse(toml, kind.name())
            .unwrap_or_else(|e| unreachable!("built-in {kind} parses (tested): {e}"));
        ModelDef {
            label: kind.name().to_string(),
            builtin: Some(kind),
            toml: toml.to_string(),
            spec,
        }
    }
}

impl ModelDef {
    /// A network from TOML text; `label` names it (a file's path) in errors and output.
    pub fn from_toml(label: &str, toml: &str) -> Result<Self, String> {
        let stem = Path::new(label)
            .file_stem()
            .map_or(label.to_string(), |s| s.to_string_lossy().into_owned());
        let spec = ModelSpec::parse(toml, &stem).map_err(|e| format!("{label}: {e}"))?;
        Ok(ModelDef {
            label: label.to_string(),
            builtin: None,
            toml: toml.to_string(),
            spec,
        })
    }

    /// `--model`: a built-in name, else a path to a model file.
    pub fn resolve(s: &str) -> anyhow::Result<Self> {
        if let Ok(k) = s.parse::<ModelKind>() {
            return Ok(k.into());
        }
        let p = Path::new(s);
        if !p.exists() {
            anyhow::bail!(
                "unknown model `{s}`: expected a built-in (cnn-s, resnet9, mlp) or the path of \
                 a model file (FILE.toml, see `lrate model --help`), and no file `{s}` exists"
            );
        }
        let text = std::fs::read_to_string(p)
            .map_err(|e| anyhow::anyhow!("{s}: cannot read the model file: {e}"))?;
        Self::from_toml(s, &text).map_err(anyhow::Error::msg)
    }

    /// The label: the built-in's name or the file's path as given.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The built-in this is, if any.
    pub fn builtin(&self) -> Option<ModelKind> {
        self.builtin
    }

    /// The layers.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The TOML text.
    pub fn toml(&self) -> &str {
        &self.toml
    }

    /// Same network (same layers), whatever the label or comments.
    pub fn same_network(&self, other: &ModelDef) -> bool {
        self.spec.layers == other.spec.layers
    }
}

impl fmt::Display for ModelDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

impl std::str::FromStr for ModelDef {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        Self::resolve(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_round_trip() {
        for (k, name) in ModelKind::ALL {
            let d = ModelDef::from(k);
            assert_eq!(d.spec().name, name);
            let j = serde_json::to_string(&d).unwrap();
            assert_eq!(j, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<ModelDef>(&j).unwrap(), d);
        }
    }

    #[test]
    fn a_file_is_stored_with_its_text() {
        let t = "[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\n";
        let d = ModelDef::from_toml("nets/lin.toml", t).unwrap();
        assert_eq!(d.spec().name, "lin");
        let j = serde_json::to_string(&d).unwrap();
        let back: ModelDef = serde_json::from_str(&j).unwrap();
        assert_eq!(back, d);
        assert!(!back.same_network(&ModelKind::Mlp.into()));
        let e = ModelDef::resolve("no/such/net.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cnn-s, resnet9, mlp") && e.contains("no file"),
            "{e}"
        );
    }
}
