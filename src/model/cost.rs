//! Analytic forward cost: each layer adds its work to a [`Cost`] while the network's shapes are
//! walked without running it (`pneumoflow model summary`).
//!
//! What counts:
//! - `macs`: multiply-accumulates of every convolution (`N·Cout·Hout·Wout · Cin/groups · k²`).
//! - `bias_adds`: one add per output element of a convolution with a bias.
//! - `elementwise`: everything else, per element: BatchNorm 2 (scale, shift), ReLU / sigmoid /
//!   residual add / gating multiply / max / copy (concat, nearest upsample, max-pool window pick,
//!   average pool) 1, bilinear upsample 7 (4 multiplies, 3 adds) per output element, max-pool
//!   `k²−1` compares per output element.
//! - [`Cost::flops`] = `2·macs + bias_adds` (the usual "FLOPs" of papers, where one MAC is two
//!   FLOPs); [`Cost::total_ops`] adds `elementwise` to it.

/// An `N×C×H×W` activation shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Batch.
    pub n: i64,
    /// Channels.
    pub c: i64,
    /// Height.
    pub h: i64,
    /// Width.
    pub w: i64,
}

impl Shape {
    /// Creates a shape.
    pub fn new(n: i64, c: i64, h: i64, w: i64) -> Self {
        Shape { n, c, h, w }
    }

    /// Number of elements.
    pub fn numel(&self) -> i64 {
        self.n * self.c * self.h * self.w
    }
}

/// Accumulated forward work of a network (see the module doc for what counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Convolution multiply-accumulates.
    pub macs: u64,
    /// Bias additions of convolutions.
    pub bias_adds: u64,
    /// Element-wise and data-movement ops (BN, activations, pooling, upsampling, gating, adds).
    pub elementwise: u64,
}

impl Cost {
    /// `2·macs + bias_adds`.
    pub fn flops(&self) -> u64 {
        2 * self.macs + self.bias_adds
    }

    /// [`Cost::flops`] plus the element-wise ops.
    pub fn total_ops(&self) -> u64 {
        self.flops() + self.elementwise
    }
}

/// Cost and output shape of a `k×k` max-pool with stride `s` and padding `p` (`ceil` as PyTorch's
/// `ceil_mode`).
pub fn max_pool(s: Shape, k: i64, stride: i64, p: i64, ceil: bool, cost: &mut Cost) -> Shape {
    let out_len = |len: i64| {
        let span = len + 2 * p - k;
        if ceil {
            let mut o = (span + stride - 1) / stride + 1;
            // PyTorch drops a last window that would start in the right padding.
            if (o - 1) * stride >= len + p {
                o -= 1;
            }
            o
        } else {
            span / stride + 1
        }
    };
    let out = Shape {
        h: out_len(s.h),
        w: out_len(s.w),
        ..s
    };
    cost.elementwise += ((k * k - 1).max(1) * out.numel()) as u64;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_pool_sizes_match_pytorch() {
        let s = |h: i64| Shape::new(1, 8, h, h);
        let mut c = Cost::default();
        // nn.MaxPool2d(3, 2, padding=1): 112 → 56, 7 → 4.
        assert_eq!(max_pool(s(112), 3, 2, 1, false, &mut c).h, 56);
        assert_eq!(max_pool(s(7), 3, 2, 1, false, &mut c).h, 4);
        // nn.MaxPool2d(3, 2, ceil_mode=True): 112 → 56, 8 → 4, 7 → 3.
        assert_eq!(max_pool(s(112), 3, 2, 0, true, &mut c).h, 56);
        assert_eq!(max_pool(s(8), 3, 2, 0, true, &mut c).h, 4);
        assert_eq!(max_pool(s(7), 3, 2, 0, true, &mut c).h, 3);
        // nn.MaxPool2d(2, 2): 7 → 3.
        assert_eq!(max_pool(s(7), 2, 2, 0, false, &mut c).h, 3);
    }

    #[test]
    fn flops_count_two_per_mac_plus_bias() {
        let c = Cost {
            macs: 10,
            bias_adds: 3,
            elementwise: 5,
        };
        assert_eq!(c.flops(), 23);
        assert_eq!(c.total_ops(), 28);
    }
}
