//! Seal and open cost per message size; the figures go in the benchmark note.

// A benchmark that cannot set itself up has nothing to measure; failing loudly is the point.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use palisade_vault::{Aad, Kek, Keyring};

const SIZES: [usize; 3] = [100, 1024, 16 * 1024];

fn seal_open(c: &mut Criterion) {
    let (keyring, _) = Keyring::initialize(Kek::from_bytes([7; 32]), 1).expect("keyring");
    let aad = Aad::new("messages", "body", "0b0e4c1e-2f7a-4a53-9a52-6f4f1d0c9b1a")
        .with_context("room", "5f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b");

    let mut group = c.benchmark_group("vault");
    for size in SIZES {
        let plaintext = vec![0x42u8; size];
        let sealed = keyring.seal(&plaintext, &aad).expect("seal");
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("seal", size), &plaintext, |b, plaintext| {
            b.iter(|| keyring.seal(black_box(plaintext), black_box(&aad)).expect("seal"));
        });
        group.bench_with_input(BenchmarkId::new("open", size), &sealed, |b, sealed| {
            b.iter(|| keyring.open(black_box(sealed), black_box(&aad)).expect("open"));
        });
    }
    group.finish();
}

criterion_group!(benches, seal_open);
criterion_main!(benches);
