//! NumPy's legacy `RandomState` (MT19937 + `random_sample`/`uniform`), the generator of
//! ElasticTransform's fields in albumentations 0.3.1.
//!
//! albumentations 0.3.1 draws `seed = random.randint(0, 10000)` and builds
//! `np.random.RandomState(seed)`; the affine offsets (`uniform(-a, a, size=(3, 2))`) and both noise
//! fields (`rand(H, W)`) come from it. Reproducing the generator bit for bit makes a seed enough
//! to reproduce albumentations' fields exactly (verified against numpy 1.23.5 in the fixtures).
//! Reference: numpy/random/src/mt19937/mt19937.c (`mt19937_seed`, `mt19937_gen`,
//! `mt19937_next_double`) and `random_uniform` in distributions.c.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// `np.random.RandomState(seed)` for an integer seed.
#[derive(Clone)]
pub struct RandomState {
    key: [u32; N],
    /// Tempered outputs of the current block.
    out: [u32; N],
    pos: usize,
}

impl RandomState {
    /// `RandomState(seed)` (numpy's `mt19937_seed`, i.e. MT19937 `init_genrand`).
    pub fn new(seed: u32) -> Self {
        let mut key = [0u32; N];
        let mut s = seed;
        for (pos, k) in key.iter_mut().enumerate() {
            *k = s;
            s = 1_812_433_253u32
                .wrapping_mul(s ^ (s >> 30))
                .wrapping_add(pos as u32 + 1);
        }
        Self {
            key,
            out: [0; N],
            pos: N,
        }
    }

    /// Regenerates the 624-word block and tempers it. The twist is split into the three ranges in
    /// which every read index is either untouched or already final, so each loop is vectorizable.
    fn generate(&mut self) {
        #[inline(always)]
        fn twist(cur: u32, next: u32, far: u32) -> u32 {
            let y = (cur & UPPER_MASK) | (next & LOWER_MASK);
            far ^ (y >> 1) ^ ((y & 1).wrapping_neg() & MATRIX_A)
        }
        let k = &mut self.key;
        // i in 0..N-M: reads k[i], k[i+1], k[i+M], all not yet updated.
        for i in 0..N - M {
            k[i] = twist(k[i], k[i + 1], k[i + M]);
        }
        // i in N-M..N-1: reads k[i+M-N] (updated above, distance N-M = 227 back).
        for i in N - M..N - 1 {
            k[i] = twist(k[i], k[i + 1], k[i + M - N]);
        }
        k[N - 1] = twist(k[N - 1], k[0], k[M - 1]);
        for (o, &v) in self.out.iter_mut().zip(k.iter()) {
            let mut y = v;
            y ^= y >> 11;
            y ^= (y << 7) & 0x9d2c_5680;
            y ^= (y << 15) & 0xefc6_0000;
            *o = y ^ (y >> 18);
        }
        self.pos = 0;
    }

    /// The next 32-bit output.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == N {
            self.generate();
        }
        let v = self.out[self.pos];
        self.pos += 1;
        v
    }

    /// `random_sample()`: `(a >> 5) * 2^26 + (b >> 6)) / 2^53` from two consecutive outputs.
    #[inline]
    pub fn random_sample(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
    }

    /// `uniform(low, high)`: `low + (high - low) * random_sample()`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.random_sample()
    }

    /// Fills `out` with `2 * random_sample() - 1` (the `rand(H, W) * 2 - 1` of elastic_transform).
    pub fn fill_symmetric_noise(&mut self, out: &mut [f64]) {
        let mut i = 0;
        while i < out.len() {
            if self.pos == N {
                self.generate();
            }
            // Whole pairs available in the current block: convert them in one tight loop.
            let pairs = ((N - self.pos) / 2).min(out.len() - i);
            let block = &self.out[self.pos..self.pos + 2 * pairs];
            for (o, ab) in out[i..i + pairs].iter_mut().zip(block.chunks_exact(2)) {
                let a = ab[0] >> 5;
                let b = ab[1] >> 6;
                let r = (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0;
                *o = r * 2.0 - 1.0;
            }
            self.pos += 2 * pairs;
            i += pairs;
            if pairs == 0 {
                // One output left in the block: the pair straddles two blocks.
                out[i] = self.random_sample() * 2.0 - 1.0;
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_mt19937_output() {
        // The MT19937 reference: init_genrand(5489) gives 3499211612 first; the 10000th output
        // is 4123659995 (C++ std::mt19937 conformance value).
        let mut rs = RandomState::new(5489);
        assert_eq!(rs.next_u32(), 3_499_211_612);
        for _ in 1..9999 {
            rs.next_u32();
        }
        assert_eq!(rs.next_u32(), 4_123_659_995);
    }

    #[test]
    fn numpy_random_sample_seed_0() {
        // np.random.RandomState(0).random_sample() == 0.5488135039273248
        assert_eq!(RandomState::new(0).random_sample(), 0.548_813_503_927_324_8);
    }

    #[test]
    fn bulk_noise_equals_scalar_draws_across_block_boundaries() {
        let mut a = RandomState::new(42);
        let mut b = RandomState::new(42);
        a.next_u32(); // odd offset: pairs straddle the 624-word block boundary
        b.next_u32();
        let mut bulk = vec![0.0; 1000];
        a.fill_symmetric_noise(&mut bulk);
        for &v in &bulk {
            assert_eq!(v, b.random_sample() * 2.0 - 1.0);
        }
    }
}
