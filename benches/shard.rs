//! Shard read throughput (mmap + CRC32 + zstd decode) of 1024² synthetic records, one core,
//! beside PNG decode of the same images with the `png` crate, plus compression ratios.
//!
//! Anchor: cv2.imread of a 1024² PNG, one thread; `benches/png_anchor.py` times it on the PNGs this bench writes to
//! `target/bench-data/png/`. Target: ≥ 2,000 img/s per core for shard reads.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use data_prep::folds::Fold;
use data_prep::shard::{
    encode_record, write_shard, Decoder, Record, RecordMeta, ShardFile, Split, DEFAULT_LEVEL,
};
use data_prep::synth::{generate_case, Split as SynthSplit};
use std::hint::black_box;
use std::path::PathBuf;

const SIZE: usize = 1024;
const N: usize = 12;

fn records() -> Vec<Record> {
    // Indices chosen so that the set mixes positives and negatives, as a real shard does.
    (0..N)
        .map(|i| {
            let c = generate_case(11, SynthSplit::Train, i * 4, SIZE);
            let mask = c.mask();
            let meta = RecordMeta {
                id: c.image_id().to_string(),
                split: Split::Train,
                height: SIZE as u32,
                width: SIZE as u32,
                orig_height: SIZE as u32,
                orig_width: SIZE as u32,
                label: Some(c.is_positive()),
                fold: Fold::Index(0),
                n_objects: c.objects.len() as u16,
            };
            Record {
                meta,
                image: c.image,
                mask: Some(mask),
            }
        })
        .collect()
}

fn bench_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(d.join("png")).expect("bench dir");
    d
}

/// zstd levels benchmarked: the default ("fast" level -3: raw literals, near-memcpy decode) and
/// the classic levels 1 and 3 (Huffman-coded literals: smaller files, slower reads).
const LEVELS: [i32; 3] = [DEFAULT_LEVEL, 1, 3];

fn shard_read(c: &mut Criterion) {
    let recs = records();
    let dir = bench_dir();
    let pngs: Vec<Vec<u8>> = recs
        .iter()
        .map(|r| pneumoflow::png_io::encode_gray(SIZE as u32, SIZE as u32, &r.image).expect("png"))
        .collect();
    for (i, p) in pngs.iter().enumerate() {
        std::fs::write(dir.join("png").join(format!("{i:02}.png")), p).expect("write png");
    }
    let png_bytes: usize = pngs.iter().map(Vec::len).sum();
    let image_bytes = (N * SIZE * SIZE) as f64;
    eprintln!(
        "png crate (default settings): compression ratio {:.2}x on the images",
        image_bytes / png_bytes as f64
    );

    let mut g = c.benchmark_group("read_1024");
    g.throughput(Throughput::Elements(1));
    for level in LEVELS {
        let enc: Vec<_> = recs
            .iter()
            .map(|r| encode_record(r, level).expect("encode"))
            .collect();
        let path = dir.join(format!("bench-1024-l{level}.pfs"));
        write_shard(&path, &enc, 0).expect("write shard");
        let shard = ShardFile::open(&path).expect("open shard");
        eprintln!(
            "shard zstd level {level}: {N} records, {:.2} MiB on disk, compression ratio {:.2}x (image+mask payload)",
            shard.file_len() as f64 / (1 << 20) as f64,
            shard.raw_len() as f64 / shard.file_len() as f64
        );
        let name = if level == DEFAULT_LEVEL {
            "shard_read_u8_1024x1024_mmap_crc_zstd".to_string()
        } else {
            format!("shard_read_u8_1024x1024_mmap_crc_zstd_level{level}")
        };
        g.bench_function(name, |b| {
            let mut dec = Decoder::new();
            let (mut img, mut mask) = (Vec::new(), Vec::new());
            let mut i = 0;
            b.iter(|| {
                shard
                    .read_into(i % N, &mut dec, &mut img, &mut mask)
                    .expect("read");
                i += 1;
                black_box((&img, &mask));
            })
        });
    }
    g.bench_function("png_decode_u8_1024x1024_png_crate", |b| {
        let mut buf = vec![0u8; SIZE * SIZE];
        let mut i = 0;
        b.iter(|| {
            let dec = png::Decoder::new(std::io::Cursor::new(&pngs[i % N]));
            let mut reader = dec.read_info().expect("png header");
            reader.next_frame(&mut buf).expect("png frame");
            i += 1;
            black_box(&buf);
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = shard_read
}
criterion_main!(benches);
