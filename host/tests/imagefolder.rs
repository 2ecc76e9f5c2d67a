//! Your own images and your own network, through the `lrate` binary: a folder of PNG files
//! (3 classes of synthetic shapes, written here), a network described in TOML, training,
//! `lrate predict` on held-out files, `lrate model`'s table, and the bad inputs.

use std::path::Path;
use std::process::Output;

mod common;

use common::{fails, lrate, stderr};

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "lrate failed: {}", stderr(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const CLASSES: [&str; 3] = ["circle", "cross", "square"];

/// A `size`×`size` RGB image of class `k` (a filled disc, a cross, a hollow square) at a
/// random position and scale, random colours and noise.
fn shape(k: usize, size: u32, seed: u64) -> image::RgbImage {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 10_000) as f32 / 10_000.0
    };
    let f = size as f32;
    let r = f * (0.2 + 0.12 * rnd());
    let (cx, cy) = (f * (0.35 + 0.3 * rnd()), f * (0.35 + 0.3 * rnd()));
    let fg = [
        (150.0 + 100.0 * rnd()) as u8,
        (150.0 + 100.0 * rnd()) as u8,
        (100.0 * rnd()) as u8,
    ];
    let bg = (60.0 * rnd()) as u8;
    let mut img = image::RgbImage::new(size, size);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let on = match k {
            0 => dx * dx + dy * dy <= r * r,
            1 => (dx.abs() < r * 0.3 && dy.abs() < r) || (dy.abs() < r * 0.3 && dx.abs() < r),
            _ => dx.abs().max(dy.abs()) < r && dx.abs().max(dy.abs()) > r * 0.6,
        };
        let n = (rnd() * 40.0) as u8;
        *p = if on {
            image::Rgb(fg.map(|v| v.saturating_sub(n)))
        } else {
            image::Rgb([bg + n, bg + n, bg + n])
        };
    }
    img
}

/// `DIR/train/<class>/*.png|jpg` (`n_train` each, some of other sizes, every seventh a JPEG), `DIR/valid/…` (`n_valid`
/// each) and `DIR/heldout/<class>_<i>.png` for prediction.
fn write_folder(dir: &Path, n_train: usize, n_valid: usize) {
    for (k, c) in CLASSES.iter().enumerate() {
        for (split, n, salt) in [("train", n_train, 0), ("valid", n_valid, 100_000)] {
            let d = dir.join(split).join(c);
            std::fs::create_dir_all(&d).unwrap();
            for i in 0..n {
                // Mixed sizes: every fifth training image is 40x40, resized to 32x32.
                let size = if split == "train" && i % 5 == 4 {
                    40
                } else {
                    32
                };
                // Every seventh is a JPEG.
                let ext = if i % 7 == 3 { "jpg" } else { "png" };
                shape(k, size, (salt + k * 10_000 + i) as u64)
                    .save(d.join(format!("{i}.{ext}")))
                    .unwrap();
            }
        }
        let h = dir.join("heldout");
        std::fs::create_dir_all(&h).unwrap();
        for i in 0..4 {
            let ext = if i == 0 { "jpg" } else { "png" };
            shape(k, 48, (500_000 + k * 10_000 + i) as u64)
                .save(h.join(format!("{c}_{i}.{ext}")))
                .unwrap();
        }
    }
}

/// A small net with most layer types: conv blocks that fuse, a strided conv with a bias (then
/// a BN and ReLU of their own), a residual block, average pooling, dropout and a global pool.
const NET: &str = r#"
name = "shapes-net"
[[layers]]
type = "conv"
channels = 16
kernel = 3
padding = 1
bias = false
[[layers]]
type = "bn"
[[layers]]
type = "relu"
[[layers]]
type = "maxpool"
[[layers]]
type = "residual"
layers = [
  { type = "conv", channels = 16, kernel = 3, padding = 1, bias = false },
  { type = "bn" },
  { type = "relu" },
]
[[layers]]
type = "conv"
channels = 32
kernel = 3
stride = 2
padding = 1
[[layers]]
type = "bn"
[[layers]]
type = "relu"
[[layers]]
type = "avgpool"
[[layers]]
type = "global_avgpool"
[[layers]]
type = "dropout"
p = 0.1
[[layers]]
type = "linear"
"#;

#[test]
fn trains_a_toml_net_on_an_image_folder_and_predicts() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path();
    write_folder(&t.join("shapes"), 60, 20);
    std::fs::write(t.join("net.toml"), NET).unwrap();
    let args = [
        "train",
        "--data",
        "imagefolder:shapes",
        "--model",
        "net.toml",
        "--epochs",
        "12",
        "--max-lr",
        "0.2",
        "--batch",
        "16",
        "--no-progress",
        "--out",
        "run",
    ];
    let out = ok(&lrate(t, &args));
    let summary: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let acc = summary["test_acc"].as_f64().unwrap();
    assert!(
        acc > 0.6,
        "validation accuracy {acc} (chance 0.33): {summary}"
    );

    // Predict on held-out files of another size (48x48, resized as in training).
    let mut files: Vec<String> = Vec::new();
    for c in CLASSES {
        for i in 0..4 {
            let ext = if i == 0 { "jpg" } else { "png" };
            files.push(format!("shapes/heldout/{c}_{i}.{ext}"));
        }
    }
    let mut pargs = vec!["predict", "--run", "run", "--json", "--top", "3"];
    pargs.extend(files.iter().map(String::as_str));
    let lines = ok(&lrate(t, &pargs));
    let mut right = 0;
    for (line, f) in lines.lines().zip(&files) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["image"], f.as_str());
        let top = v["top"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        let p: f64 = top.iter().map(|e| e[1].as_f64().unwrap()).sum();
        assert!((p - 1.0).abs() < 1e-4, "probabilities sum to {p}");
        if f.contains(top[0][0].as_str().unwrap()) {
            right += 1;
        }
    }
    assert_eq!(lines.lines().count(), files.len());
    assert!(right >= 10, "{right} of 12 held-out images right: {lines}");
    let text = ok(&lrate(t, &["predict", "--run", "run", &files[0]]));
    assert!(
        text.starts_with(&format!("{}: ", files[0])) && text.contains('%'),
        "{text}"
    );

    // The same run refuses another network, and an unreadable image is an error.
    fails(
        &lrate(
            t,
            &["predict", "--run", "run", "--model", "cnn-s", &files[0]],
        ),
        &["net.toml", "cnn-s", "another model"],
    );
    std::fs::write(t.join("bad.png"), b"not a png").unwrap();
    fails(
        &lrate(t, &["predict", "--run", "run", "bad.png"]),
        &["bad.png", "not a readable image"],
    );
}

#[test]
fn bad_folders_give_clear_messages() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path();
    let train = |data: &str, extra: &[&str]| {
        let mut a = vec![
            "train",
            "--data",
            data,
            "--model",
            "mlp",
            "--epochs",
            "1",
            "--max-lr",
            "0.05",
            "--batch",
            "8",
            "--no-progress",
            "--overwrite",
            "--out",
            "run",
        ];
        a.extend_from_slice(extra);
        lrate(t, &a)
    };
    write_folder(&t.join("f"), 6, 0);
    std::fs::remove_dir_all(t.join("f/valid")).unwrap();
    // A corrupt PNG, a truncated JPEG and a text file: the first two are left out with their
    // names, the third ignored; --valid-pct splits train/.
    std::fs::write(
        t.join("f/train/circle/corrupt.png"),
        b"\x89PNG\r\n\x1a\nrubbish",
    )
    .unwrap();
    let mut jpg = Vec::new();
    image::DynamicImage::ImageRgb8(shape(1, 32, 9))
        .write_to(
            &mut std::io::Cursor::new(&mut jpg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    std::fs::write(t.join("f/train/cross/cut.jpg"), &jpg[..jpg.len() / 3]).unwrap();
    std::fs::write(t.join("f/train/cross/README.txt"), "notes").unwrap();
    let o = train("imagefolder:f", &["--valid-pct", "0.25"]);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(
        e.contains("left out 2 unreadable images")
            && e.contains("corrupt.png")
            && e.contains("cut.jpg"),
        "{e}"
    );
    assert!(!e.contains("README.txt"), "{e}");
    assert!(e.contains("mixed sizes"), "{e}");
    fails(
        &train("imagefolder:f", &["--strict"]),
        &["corrupt.png", "--strict"],
    );
    // An empty class folder, one class, no train/, a class missing from valid/.
    std::fs::create_dir_all(t.join("f/train/empty")).unwrap();
    fails(
        &train("imagefolder:f", &[]),
        &["empty", "empty class folder"],
    );
    std::fs::remove_dir_all(t.join("f/train/empty")).unwrap();
    let one = t.join("one/train/only");
    std::fs::create_dir_all(&one).unwrap();
    shape(0, 8, 1).save(one.join("a.png")).unwrap();
    fails(
        &train("imagefolder:one", &[]),
        &["1 class folder", "at least two"],
    );
    fails(&train("imagefolder:nowhere", &[]), &["no train/ folder"]);
    std::fs::create_dir_all(t.join("f/valid/circle")).unwrap();
    shape(0, 32, 77)
        .save(t.join("f/valid/circle/v.png"))
        .unwrap();
    let o = train("imagefolder:f", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("class `cross` has no folder"),
        "{}",
        stderr(&o)
    );
    fails(
        &train("imagefolder:f", &["--channels", "2"]),
        &["--channels must be 1 or 3"],
    );
}

#[test]
fn model_files_are_checked_against_the_input() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path();
    std::fs::write(
        t.join("bad.toml"),
        "[[layers]]\ntype = \"conv\"\nchannels = 8\nkernel = 3\n[[layers]]\ntype = \"linear\"\n",
    )
    .unwrap();
    fails(
        &lrate(t, &["model", "--model", "bad.toml", "--input", "1x28x28"]),
        &["layer 2 (linear)", "image 8x26x26", "flatten"],
    );
    fails(
        &lrate(
            t,
            &[
                "train",
                "--model",
                "bad.toml",
                "--max-lr",
                "0.1",
                "--no-progress",
                "--out",
                "r",
            ],
        ),
        &["bad.toml", "layer 2 (linear)"],
    );
    std::fs::write(
        t.join("typo.toml"),
        "[[layers]]\ntype = \"conv\"\nchanels = 8\n",
    )
    .unwrap();
    fails(
        &lrate(t, &["model", "--model", "typo.toml"]),
        &["layer 1 (conv)", "unknown key `chanels`", "channels"],
    );
    fails(
        &lrate(t, &["model", "--model", "vgg16"]),
        &["unknown model `vgg16`", "cnn-s, resnet9, mlp"],
    );
}

/// `lrate model` for cnn-s on 1x28x28 with 10 classes, against counts done by hand.
#[test]
fn model_table_of_cnn_s_matches_hand_counts() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(&lrate(
        d.path(),
        &["model", "--model", "cnn-s", "--input", "1x28x28", "--json"],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let layers = v["layers"].as_array().unwrap();
    let col = |k: &str| -> Vec<u64> { layers.iter().map(|l| l[k].as_u64().unwrap()).collect() };
    let outs: Vec<&str> = layers
        .iter()
        .map(|l| l["output"].as_str().unwrap())
        .collect();
    assert_eq!(
        outs,
        [
            "32x28x28", "32x28x28", "32x28x28", "32x14x14", "64x14x14", "64x14x14", "64x14x14",
            "64x7x7", "128x7x7", "128x7x7", "128x7x7", "128x3x3", "128", "10"
        ]
    );
    // conv 1→32 3x3: 288 weights; 2·9·1 MACs per output × 32·28·28 outputs.
    // BN 2·C params, 2 FLOPs per value; ReLU 1 per value; max-pool 3 per output.
    let flops = [
        2 * 9 * 32 * 784,
        2 * 32 * 784,
        32 * 784,
        3 * 32 * 196,
        2 * 9 * 32 * 64 * 196,
        2 * 64 * 196,
        64 * 196,
        3 * 64 * 49,
        2 * 9 * 64 * 128 * 49,
        2 * 128 * 49,
        128 * 49,
        3 * 128 * 9,
        128 * 9,
        2 * 128 * 10 + 10,
    ];
    assert_eq!(col("flops"), flops);
    let params = [288, 64, 0, 0, 18432, 128, 0, 0, 73728, 256, 0, 0, 0, 1290];
    assert_eq!(col("params"), params);
    assert_eq!(v["params"], params.iter().sum::<u64>());
    assert_eq!(v["flops"], flops.iter().sum::<u64>());
    let fused: Vec<bool> = layers
        .iter()
        .map(|l| l["fused"].as_bool().unwrap())
        .collect();
    assert_eq!(
        fused.iter().filter(|f| **f).count(),
        12,
        "three fused 4-layer blocks"
    );
    let text = ok(&lrate(
        d.path(),
        &["model", "--model", "cnn-s", "--input", "1x28x28"],
    ));
    assert!(text.contains("total") && text.contains("94 186"), "{text}");
}
