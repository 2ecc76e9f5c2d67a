//! `lrate predict --run DIR IMAGE...`: classifies images with a trained run.
//!
//! The run's `weights.safetensors` (else its latest checkpoint) holds the weights and, in
//! its metadata, the network (a built-in's name or a model file's whole text), the input
//! shape, the class names and the training set's normalisation. Each image is decoded,
//! converted, resized and centre-cropped as in training ([`imagefolder::to_chw`]), scaled
//! to `[0, 1]`, normalised, and its top-k classes are printed with their probabilities.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::checkpoint::Checkpoint;
use crate::cli::PredictArgs;
use crate::data::imagefolder;
use crate::data::DataSpec;
use crate::meta::{DataInfo, Meta};
use crate::nn::def::ModelDef;
use crate::nn::{Cpu, Model};
use crate::resume::CHECKPOINT;
use crate::train::WEIGHTS;

/// One image's answer.
#[derive(Debug, serde::Serialize)]
pub struct Prediction {
    /// The image file.
    pub image: String,
    /// `(class, probability)`, most probable first.
    pub top: Vec<(String, f32)>,
}

/// The trained network of `dir`, with its metadata and the data record prediction needs.
pub fn load_run(dir: &Path) -> Result<(Model<Cpu>, Meta, DataInfo)> {
    let path = [WEIGHTS, CHECKPOINT]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "{}: no {WEIGHTS} or {CHECKPOINT}; is it a run directory (`lrate train --out`)?",
                dir.display()
            )
        })?;
    let ck = Checkpoint::load(&path)?;
    let meta = Meta::from_json(&ck.meta).with_context(|| format!("{}", path.display()))?;
    let Some(info) = meta.data.clone() else {
        bail!(
            "{}: the run records no input shape or classes (it was made by an older lrate); \
             train it again to predict with it",
            path.display()
        );
    };
    let [c, h, w] = info.input;
    let mut model = Model::try_new(
        meta.common.model.clone(),
        (c, h, w),
        info.class_names.len(),
        meta.common.seed,
        &Cpu::default(),
    )
    .with_context(|| format!("{}: rebuilding its network", path.display()))?;
    model.load_state(&ck.model).with_context(|| {
        format!(
            "{}: the weights do not fit the network `{}` it records",
            path.display(),
            meta.common.model
        )
    })?;
    Ok((model, meta, info))
}

/// Classifies `images` with the run in `dir`.
pub fn predict(
    dir: &Path,
    images: &[impl AsRef<Path>],
    top: usize,
    expect: Option<&ModelDef>,
) -> Result<Vec<Prediction>> {
    if top == 0 {
        bail!("--top must be at least 1");
    }
    let (model, meta, info) = load_run(dir)?;
    if let Some(want) = expect {
        if !want.same_network(&meta.common.model) {
            bail!(
                "{} was trained with the network `{}` ({} layers), not `{}` ({} layers): \
                 its weights belong to another model; drop --model or name the run's own",
                dir.display(),
                meta.common.model,
                meta.common.model.spec().layers.len(),
                want,
                want.spec().layers.len()
            );
        }
    }
    let [c, h, w] = info.input;
    if !matches!(meta.common.data, DataSpec::ImageFolder(_)) {
        eprintln!(
            "lrate: note: {} was trained on `{}`, not an image folder; images are scaled to \
             [0, 1] and normalised with its statistics, which fits only if its pixels were too",
            dir.display(),
            meta.common.data
        );
    }
    let mut x = Vec::with_capacity(images.len() * c * h * w);
    for p in images {
        let p = p.as_ref();
        let img = imagefolder::open(p)?;
        let px = imagefolder::to_chw(&img, c, (h, w));
        let n = h * w;
        x.extend(px.iter().enumerate().map(|(i, v)| {
            let ch = i / n;
            (*v as f32 / 255.0 - info.mean[ch]) / info.std[ch]
        }));
    }
    let probs = model.try_probabilities(&x, 64)?;
    Ok(images
        .iter()
        .zip(probs)
        .map(|(p, row)| {
            let mut idx: Vec<usize> = (0..row.len()).collect();
            idx.sort_by(|a, b| row[*b].total_cmp(&row[*a]).then(a.cmp(b)));
            Prediction {
                image: p.as_ref().display().to_string(),
                top: idx
                    .into_iter()
                    .take(top)
                    .map(|i| (info.class_names[i].clone(), row[i]))
                    .collect(),
            }
        })
        .collect())
}

/// Runs `lrate predict`.
pub fn run(a: &PredictArgs) -> Result<()> {
    let expect = a.model.as_deref().map(ModelDef::resolve).transpose()?;
    for p in predict(&a.run, &a.images, a.top, expect.as_ref())? {
        if a.json {
            println!("{}", serde_json::to_string(&p)?);
        } else {
            let top: Vec<String> = p
                .top
                .iter()
                .map(|(c, q)| format!("{c} {:.1}%", 100.0 * q))
                .collect();
            println!("{}: {}", p.image, top.join(", "));
        }
    }
    Ok(())
}
