//! `--data imagefolder:DIR`: a folder of PNG and JPEG images in the torchvision `ImageFolder`
//! / fastai `ImageDataLoaders.from_folder` layout.
//!
//! ```text
//! DIR/train/<class>/*.png|jpg|jpeg
//! DIR/valid/<class>/…      (or DIR/test/; without either, --valid-pct of train/ is held out)
//! ```
//!
//! - Class names are the folder names of `train/`, sorted; label `i` is the `i`-th name.
//! - Images are decoded in parallel (rayon, the `image` crate), converted to grayscale or
//!   RGB (`--channels`; by default grayscale when every image is), resized so that the short
//!   side is `--image-size` and centre-cropped to a square (`resize_to_fill`, a triangle
//!   filter; by default the images keep their size when they all share one, else take the
//!   first image's short side), and kept in memory as `u8` (the split's
//!   [`Bytes`](super::Bytes), normalised as they are read).
//! - Files that are not `.png`, `.jpg` or `.jpeg` are ignored. An image that does not decode
//!   is left out, with a count and the first few names on stderr (`--strict`: an error). An
//!   empty class folder, fewer than two classes or a missing `train/` are errors; a class
//!   with no folder in `valid/` is a warning.
//! - Without `valid/` or `test/`, a ChaCha8 shuffle seeded by `--seed` holds out
//!   `round(valid_pct · n)` images (fastai's `RandomSplitter`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use image::imageops::FilterType;
use image::DynamicImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Dataset;

/// The image-folder options of a run (recorded in its checkpoint).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageOptions {
    /// Fraction of `train/` held out when there is no `valid/` or `test/` folder.
    pub valid_pct: f32,
    /// Square side the images are resized and cropped to; `None`: see the module docs.
    pub image_size: Option<usize>,
    /// 1 or 3 channels; `None`: detected.
    pub channels: Option<usize>,
    /// Random crop (padding `side/8`) and flip on training batches.
    pub augment: bool,
    /// An unreadable image is an error instead of being left out.
    pub strict: bool,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            valid_pct: 0.2,
            image_size: None,
            channels: None,
            augment: true,
            strict: false,
        }
    }
}

/// What a loaded folder holds besides the images.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Training images.
    pub train: Dataset,
    /// Validation images.
    pub valid: Dataset,
    /// Class names, sorted; label `i` is `classes[i]`.
    pub classes: Vec<String>,
}

/// File extensions read as images.
pub const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("{}: cannot read", dir.display()))? {
        let e = e.with_context(|| format!("{}: cannot read", dir.display()))?;
        if e.path().is_dir() {
            v.push((e.file_name().to_string_lossy().into_owned(), e.path()));
        }
    }
    v.sort();
    Ok(v)
}

fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("{}: cannot read", dir.display()))? {
        let p = e
            .with_context(|| format!("{}: cannot read", dir.display()))?
            .path();
        if p.is_file() && is_image(&p) {
            v.push(p);
        }
    }
    v.sort();
    Ok(v)
}

/// Decodes one image file.
pub fn open(path: &Path) -> Result<DynamicImage> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    image::load_from_memory(&bytes)
        .with_context(|| format!("{}: not a readable image", path.display()))
}

fn is_gray(img: &DynamicImage) -> bool {
    !img.color().has_color()
}

/// The image as `channels × side × side` bytes, CHW: converted, resized (short side) and
/// centre-cropped as in training.
pub fn to_chw(img: &DynamicImage, channels: usize, side: (usize, usize)) -> Vec<u8> {
    let (w, h) = (side.1 as u32, side.0 as u32);
    let img = if img.width() == w && img.height() == h {
        img.clone()
    } else {
        img.resize_to_fill(w, h, FilterType::Triangle)
    };
    let n = side.0 * side.1;
    if channels == 1 {
        img.to_luma8().into_raw()
    } else {
        let rgb = img.to_rgb8().into_raw();
        let mut out = vec![0u8; 3 * n];
        for (i, px) in rgb.chunks_exact(3).enumerate() {
            for c in 0..3 {
                out[c * n + i] = px[c];
            }
        }
        out
    }
}

/// The image files of every class, labelled by the class's position, from `dirs` (the
/// subfolders of `root`). A folder that is not a class and a class without a folder are
/// warnings (neither happens in `train/`, whose folders are the classes); an empty class
/// folder is an error when `need_images` (`train/`).
fn class_files(
    root: &Path,
    dirs: &[(String, PathBuf)],
    classes: &[String],
    need_images: bool,
) -> Result<Vec<(PathBuf, usize)>> {
    for (name, _) in dirs {
        if !classes.contains(name) {
            eprintln!(
                "lrate: warning: {}/{name} is not a class of train/ (ignored)",
                root.display()
            );
        }
    }
    let mut files = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let Some((_, d)) = dirs.iter().find(|(n, _)| n == class) else {
            eprintln!(
                "lrate: warning: class `{class}` has no folder in {} (it is not validated)",
                root.display()
            );
            continue;
        };
        let f = image_files(d)?;
        if f.is_empty() && need_images {
            bail!(
                "{}: empty class folder (no .png, .jpg or .jpeg file); remove it or add images",
                d.display()
            );
        }
        files.extend(f.into_iter().map(|p| (p, label)));
    }
    Ok(files)
}

/// Loads `dir` (see the module docs); `seed` seeds the held-out split, `progress` shows a
/// bar while decoding.
pub fn load_dir(dir: &Path, opts: &ImageOptions, seed: u64, progress: bool) -> Result<Loaded> {
    let train_dir = dir.join("train");
    if !train_dir.is_dir() {
        bail!(
            "imagefolder {}: no train/ folder; expected {0}/train/<class>/*.png|jpg and \
             optionally {0}/valid/<class>/ (or test/)",
            dir.display()
        );
    }
    if let Some(c) = opts.channels {
        if c != 1 && c != 3 {
            bail!("--channels must be 1 or 3, got {c}");
        }
    }
    if opts.image_size == Some(0) {
        bail!("--image-size must be at least 1");
    }
    let train_dirs = subdirs(&train_dir)?;
    let classes: Vec<String> = train_dirs.iter().map(|(n, _)| n.clone()).collect();
    if classes.len() < 2 {
        bail!(
            "{}: {} class folder{}; classification needs at least two (train/<class>/ each)",
            train_dir.display(),
            classes.len(),
            if classes.len() == 1 { "" } else { "s" }
        );
    }
    let valid_dir = ["valid", "test"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_dir());
    let train = class_files(&train_dir, &train_dirs, &classes, true)?;
    let valid = match &valid_dir {
        Some(v) => Some(class_files(v, &subdirs(v)?, &classes, false)?),
        None => None,
    };
    let all: Vec<&(PathBuf, usize)> = train.iter().chain(valid.iter().flatten()).collect();
    let bar = crate::progress::bar(all.len() as u64, "decoding images".into(), !progress);
    let decoded: Vec<Result<DynamicImage>> = all
        .par_iter()
        .map(|(p, _)| {
            let r = open(p);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let mut bad: Vec<String> = Vec::new();
    for (r, (p, _)) in decoded.iter().zip(&all) {
        if let Err(e) = r {
            if opts.strict {
                bail!("{e:#} (--strict; without it the image is left out)");
            }
            bad.push(p.display().to_string());
        }
    }
    if !bad.is_empty() {
        eprintln!(
            "lrate: warning: left out {} unreadable image{}: {}{}",
            bad.len(),
            if bad.len() == 1 { "" } else { "s" },
            bad.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            if bad.len() > 3 { ", …" } else { "" }
        );
    }
    let ok: Vec<(&DynamicImage, usize, bool)> = decoded
        .iter()
        .zip(&all)
        .enumerate()
        .filter_map(|(i, (r, (_, l)))| r.as_ref().ok().map(|d| (d, *l, i < train.len())))
        .collect();
    let Some(first) = ok.first() else {
        bail!("imagefolder {}: no readable image", dir.display());
    };
    let channels = opts
        .channels
        .unwrap_or(if ok.iter().all(|(d, _, _)| is_gray(d)) {
            1
        } else {
            3
        });
    let side = match opts.image_size {
        Some(n) => (n, n),
        None => {
            let (w, h) = (first.0.width() as usize, first.0.height() as usize);
            if ok
                .iter()
                .all(|(d, _, _)| d.width() as usize == w && d.height() as usize == h)
            {
                (h, w)
            } else {
                let n = w.min(h);
                eprintln!(
                    "lrate: note: the images have mixed sizes; each is resized and centre-cropped \
                     to {n}x{n} (the first image's short side; --image-size sets it)"
                );
                (n, n)
            }
        }
    };
    let pixels: Vec<Vec<u8>> = ok
        .par_iter()
        .map(|(d, _, _)| to_chw(d, channels, side))
        .collect();
    let mk = |keep: &dyn Fn(usize) -> bool| {
        let mut ds = Dataset {
            c: channels,
            h: side.0,
            w: side.1,
            num_classes: classes.len(),
            images: Vec::new(),
            labels: Vec::new(),
            bytes: Some(super::Bytes {
                data: Vec::new(),
                mean: vec![0.0; channels],
                std: vec![1.0; channels],
            }),
        };
        for (i, (px, (_, l, _))) in pixels.iter().zip(&ok).enumerate() {
            if keep(i) {
                if let Some(b) = &mut ds.bytes {
                    b.data.extend_from_slice(px);
                }
                ds.labels.push(*l);
            }
        }
        ds
    };
    let (tr, va) = if valid.is_some() {
        (mk(&|i| ok[i].2), mk(&|i| !ok[i].2))
    } else {
        if !(opts.valid_pct > 0.0 && opts.valid_pct < 1.0) {
            bail!(
                "--valid-pct must be in (0, 1) when {} has no valid/ or test/ folder, got {}",
                dir.display(),
                opts.valid_pct
            );
        }
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let n = ok.len();
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(
            seed ^ 0x5eed_5b17,
        ));
        let k = ((opts.valid_pct * n as f32).round() as usize).clamp(1, n.saturating_sub(1).max(1));
        let mut held = vec![false; n];
        for &i in &idx[..k] {
            held[i] = true;
        }
        (mk(&|i| !held[i]), mk(&|i| held[i]))
    };
    Ok(Loaded {
        train: tr,
        valid: va,
        classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(path: &Path, w: u32, h: u32, rgb: [u8; 3]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::RgbImage::from_pixel(w, h, image::Rgb(rgb))
            .save(path)
            .unwrap();
    }

    #[test]
    fn layout_classes_split_and_bad_files() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path();
        for (c, col) in [("b_red", [200, 0, 0]), ("a_blue", [0, 0, 200])] {
            for i in 0..5 {
                png(&t.join(format!("train/{c}/{i}.png")), 6, 4, col);
            }
        }
        std::fs::write(t.join("train/a_blue/notes.txt"), "not an image").unwrap();
        std::fs::write(t.join("train/a_blue/broken.png"), "not a png").unwrap();
        let o = ImageOptions::default();
        let l = load_dir(t, &o, 0, false).unwrap();
        assert_eq!(l.classes, ["a_blue", "b_red"]);
        assert_eq!((l.train.len(), l.valid.len()), (8, 2));
        assert_eq!((l.train.c, l.train.h, l.train.w), (3, 4, 6));
        // Held as bytes: one per value.
        assert!(l.train.images.is_empty());
        assert_eq!(l.train.bytes.as_ref().unwrap().data.len(), 8 * 3 * 4 * 6);
        // Through data::load the bytes are normalised with the training statistics as they
        // are read: every channel of the training split then has mean 0.
        let split = crate::data::load(
            &crate::data::DataSpec::ImageFolder(t.to_path_buf()),
            &crate::data::LoadOptions::default(),
        )
        .unwrap();
        let (m, _) = crate::data::normalize::channel_stats(&split.train);
        assert!(m.iter().all(|v| v.abs() < 1e-5), "{m:?}");
        let b = split.train.bytes.as_ref().unwrap();
        let want = (b.data[0] as f32 / 255.0 - split.mean[0]) / split.std[0];
        assert_eq!(split.train.image(0)[0], want);
        // Blue is label 0: its images have a bright third channel.
        let i = l.train.labels.iter().position(|&x| x == 0).unwrap();
        let img = l.train.image(i);
        assert!(img[2 * 24] > 0.7 && img[0] < 0.1);
        let e = load_dir(t, &ImageOptions { strict: true, ..o }, 0, false).unwrap_err();
        assert!(format!("{e:#}").contains("broken.png"), "{e:#}");
        // Resized and cropped to a forced size and channel count.
        let l = load_dir(
            t,
            &ImageOptions {
                image_size: Some(3),
                channels: Some(1),
                ..o
            },
            0,
            false,
        )
        .unwrap();
        assert_eq!((l.train.c, l.train.h, l.train.w), (1, 3, 3));
        std::fs::create_dir_all(t.join("train/c_empty")).unwrap();
        let e = load_dir(t, &o, 0, false).unwrap_err().to_string();
        assert!(
            e.contains("c_empty") && e.contains("empty class folder"),
            "{e}"
        );
    }
}
