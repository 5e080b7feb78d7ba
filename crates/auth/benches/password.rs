//! What one argon2id verification costs at the chosen parameters (m=19456 KiB, t=2, p=1), as
//! sign-in pays it: through the bounded blocking pool. The figure goes in the accounts note.

// A benchmark that cannot set itself up has nothing to measure; failing loudly is the point.
#![allow(clippy::expect_used)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_auth::PasswordHasher;

fn verify(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let hasher = PasswordHasher::new(1, Duration::from_secs(60)).expect("hasher");
    let password = "correct horse battery staple".to_owned();
    let stored = runtime.block_on(hasher.hash(password.clone())).expect("hash");
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(20);
    group.bench_function("verify", |b| {
        b.iter(|| runtime.block_on(hasher.verify(password.clone(), stored.clone())).expect("verify"));
    });
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
