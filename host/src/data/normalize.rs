//! Per-channel normalisation with training-set statistics:
//! `x' = (x - mean_c) / std_c`, where `mean_c` and `std_c` are the mean and the
//! (population) standard deviation of channel `c` over every training pixel, as
//! torchvision's `Normalize` is used with statistics computed from the training set.

use super::Dataset;

/// Mean and standard deviation of each channel over the whole split, accumulated
/// in `f64`. A constant channel gets std 1 so that normalisation stays finite.
pub fn channel_stats(ds: &Dataset) -> (Vec<f32>, Vec<f32>) {
    let hw = ds.h * ds.w;
    let mut sum = vec![0f64; ds.c];
    let mut sq = vec![0f64; ds.c];
    let mut add = |c: usize, v: f64| {
        sum[c] += v;
        sq[c] += v * v;
    };
    match &ds.bytes {
        None => {
            for img in ds.images.chunks_exact(ds.image_size()) {
                for (c, plane) in img.chunks_exact(hw).enumerate() {
                    for &v in plane {
                        add(c, f64::from(v));
                    }
                }
            }
        }
        Some(b) => {
            for img in b.data.chunks_exact(ds.image_size()) {
                for (c, plane) in img.chunks_exact(hw).enumerate() {
                    for &v in plane {
                        add(c, f64::from(b.value(v, c)));
                    }
                }
            }
        }
    }
    let n = (ds.len() * hw).max(1) as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let std: Vec<f32> = sq
        .iter()
        .zip(&mean)
        .map(|(s, m)| {
            let var = (s / n - m * m).max(0.0);
            let sd = var.sqrt();
            if sd > 1e-8 {
                sd as f32
            } else {
                1.0
            }
        })
        .collect();
    (mean.iter().map(|&m| m as f32).collect(), std)
}

/// Normalises every pixel in place (pixels kept as bytes: records `mean` and `std`, applied
/// when they are read; only on bytes not normalised before).
pub fn apply(ds: &mut Dataset, mean: &[f32], std: &[f32]) {
    if let Some(b) = &mut ds.bytes {
        b.mean = mean.to_vec();
        b.std = std.to_vec();
        return;
    }
    let hw = ds.h * ds.w;
    let size = ds.image_size();
    for img in ds.images.chunks_exact_mut(size) {
        for (c, plane) in img.chunks_exact_mut(hw).enumerate() {
            let (m, s) = (mean[c], std[c]);
            for v in plane {
                *v = (*v - m) / s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_channels_have_zero_mean_unit_std() {
        let mut ds = Dataset {
            c: 2,
            h: 1,
            w: 2,
            num_classes: 2,
            images: vec![0.0, 2.0, 5.0, 5.0, 4.0, 6.0, 5.0, 5.0],
            labels: vec![0, 1],
            bytes: None,
        };
        let (m, s) = channel_stats(&ds);
        assert_eq!(m, vec![3.0, 5.0]);
        assert!((s[0] - 5f32.sqrt()).abs() < 1e-6);
        assert_eq!(s[1], 1.0); // constant channel
        apply(&mut ds, &m, &s);
        let (m2, s2) = channel_stats(&ds);
        assert!(m2[0].abs() < 1e-6 && (s2[0] - 1.0).abs() < 1e-6);
        assert!(m2[1].abs() < 1e-6);
    }
}
