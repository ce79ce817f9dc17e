//! The incremental sweep: a differential dataflow that maintains a sweep's results while
//! prediction sets are inserted and retracted, so that a new checkpoint's predictions (or a
//! deleted set) update the results without touching the other sets.
//!
//! The maintained collections (one timely worker on the calling thread, driven by
//! [`IncrementalSweep`]):
//!
//! - `rows`: one row per (set, image): its fold, map side and [`ImageTerms`] (the one histogram
//!   pass over its pixels, computed only for the inserted set's images);
//! - `terms`: the per-(set, image, configuration) Dice terms, `rows.explode(..)` into
//!   `(set, fold, configuration)` with the fixed-point Dice (`crate::sweep::to_fixed`) in the
//!   difference ([`DiceDiff`]: sum and image count), as pipeline-notes §2.7 recommends: numbers
//!   that must be totally ordered and exactly summed are integers;
//! - `per_fold`: `terms.count()`: `((set, fold, configuration), sums)`, the results per fold;
//! - `overall`: `per_fold` exploded to `(set, configuration)` and counted again;
//! - `top` and `top_per_fold`: `reduce`s keeping the `k` best configurations per set and per
//!   (set, fold), ranked by fixed-point sum (every configuration of a set or fold has the same
//!   images, so that is the mean's order), equal sums in grid order.
//!
//! A set's rows are kept by the driver so that its retraction is exact. Every view is
//! materialised from the outputs' updates after each [`IncrementalSweep::commit`]; the results
//! equal a recompute by `crate::sweep::sweep_serial` bit for bit (fixed point), which
//! `tests/sweep.rs` checks after sequences of inserts and retractions.

use crate::sweep::{
    DiceSums, Grid, ImageTerms, Plan, PredictionSet, Reader, SetResult, SweepError, SweepResult,
};
use data_prep::folds::Fold;
use differential_dataflow::difference::{Abelian, IsZero, Monoid, Multiply, Semigroup};
use differential_dataflow::input::InputSession;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::Instant;
use timely::communication::allocator::thread::Thread;
use timely::communication::Allocator;
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;
use timely::WorkerConfig;

/// A difference carrying a fixed-point Dice sum and the number of images it sums: records of
/// the `terms` collection hold one image's Dice, counts hold sums per fold or set.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct DiceDiff {
    /// Sum of `to_fixed(dice)` (negative while a retraction is pending).
    pub sum: i128,
    /// Images summed.
    pub images: i64,
}

impl IsZero for DiceDiff {
    fn is_zero(&self) -> bool {
        self.sum == 0 && self.images == 0
    }
}

impl Semigroup for DiceDiff {
    fn plus_equals(&mut self, rhs: &Self) {
        self.sum += rhs.sum;
        self.images += rhs.images;
    }
}

impl Monoid for DiceDiff {
    fn zero() -> Self {
        DiceDiff::default()
    }
}

impl Abelian for DiceDiff {
    fn negate(&mut self) {
        self.sum = -self.sum;
        self.images = -self.images;
    }
}

impl Multiply<isize> for DiceDiff {
    type Output = DiceDiff;
    fn multiply(self, rhs: &isize) -> DiceDiff {
        let r = *rhs as i64;
        DiceDiff {
            sum: self.sum * i128::from(r),
            images: self.images * r,
        }
    }
}

/// One row of the input collection: `(set id, record index) → (fold, map side, terms)`.
pub type Row = ((u32, u32), (Fold, u32, ImageTerms));

/// A configuration's rank key: fixed-point sum, then `u32::MAX - configuration` (so that, in
/// ascending order, the last is the best and equal sums prefer the first configuration).
type Rank = (i128, u32);

/// One ranked configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ranked {
    /// Configuration index in the grid.
    pub config: usize,
    /// Fixed-point Dice sum.
    pub sum: u128,
    /// Images summed.
    pub images: u64,
}

impl Ranked {
    /// The mean Dice.
    pub fn mean(&self) -> f64 {
        crate::sweep::from_fixed(self.sum) / self.images.max(1) as f64
    }
}

/// The outputs' accumulated updates: each maps a record to its multiplicity (kept while
/// nonzero; after a commit every present record has multiplicity 1).
#[derive(Default)]
struct Views {
    per_fold: BTreeMap<((u32, Fold, u32), DiceDiff), isize>,
    overall: BTreeMap<((u32, u32), DiceDiff), isize>,
    top: BTreeMap<(u32, Rank), isize>,
    top_per_fold: BTreeMap<((u32, Fold), Rank), isize>,
}

fn apply<D: Ord>(view: &mut BTreeMap<D, isize>, record: D, diff: isize) {
    use std::collections::btree_map::Entry;
    match view.entry(record) {
        Entry::Vacant(v) => {
            v.insert(diff);
        }
        Entry::Occupied(mut o) => {
            *o.get_mut() += diff;
            if *o.get() == 0 {
                o.remove();
            }
        }
    }
}

/// A set held by the sweep: its id in the collections, map side and rows.
struct Loaded {
    id: u32,
    size: u32,
    rows: Vec<Row>,
}

/// The incremental sweep over one grid: insert and retract prediction sets, then
/// [`IncrementalSweep::commit`] and read the maintained results.
pub struct IncrementalSweep {
    input: InputSession<u64, Row, isize>,
    probe: ProbeHandle<u64>,
    views: Rc<RefCell<Views>>,
    exploded: Rc<Cell<u64>>,
    worker: Worker,
    grid: Grid,
    top_k: usize,
    sets: BTreeMap<String, Loaded>,
    next_id: u32,
    terms_computed: u64,
    reader: Reader,
}

impl IncrementalSweep {
    /// An empty sweep over `grid`, keeping the `top_k` (at least 1) best configurations per set
    /// and per (set, fold).
    pub fn new(grid: &Grid, top_k: usize) -> IncrementalSweep {
        let top_k = top_k.max(1);
        let alloc = Allocator::Thread(Thread::default());
        let mut worker = Worker::new(WorkerConfig::default(), alloc, Some(Instant::now()));
        let mut input = InputSession::<u64, Row, isize>::new();
        let views = Rc::new(RefCell::new(Views::default()));
        let exploded = Rc::new(Cell::new(0u64));
        let probe = ProbeHandle::new();
        let (g, v, e, p) = (
            grid.clone(),
            Rc::clone(&views),
            Rc::clone(&exploded),
            &probe,
        );
        let rows_in = &mut input;
        worker.dataflow::<u64, _, _>(move |scope| {
            let mut plans: HashMap<u32, Plan> = HashMap::new();
            let mut sums: Vec<u128> = Vec::new();
            let terms = rows_in.to_collection(scope).explode(
                move |((set, _image), (fold, size, terms)): Row| {
                    e.set(e.get() + 1);
                    // add_to reads only the plan's areas and list lengths, which the encoding does not change.
                    let plan = plans.entry(size).or_insert_with(|| g.plan(size));
                    sums.clear();
                    sums.resize(plan.len(), 0);
                    terms.add_to(plan, &mut sums);
                    (sums.iter().enumerate())
                        .map(|(c, &s)| {
                            let dice = DiceDiff {
                                sum: s as i128,
                                images: 1,
                            };
                            ((set, fold, c as u32), dice)
                        })
                        .collect::<Vec<_>>()
                },
            );
            let per_fold = terms.count();
            let overall = per_fold
                .clone()
                .explode(|((set, _fold, config), dice)| Some(((set, config), dice)))
                .count();
            let top = overall
                .clone()
                .map(|((set, config), d)| (set, (d.sum, u32::MAX - config)))
                .reduce(keep_best(top_k));
            let top_per_fold = per_fold
                .clone()
                .map(|((set, fold, config), d)| ((set, fold), (d.sum, u32::MAX - config)))
                .reduce(keep_best(top_k));
            let views = Rc::clone(&v);
            per_fold
                .inspect(move |(d, _, r)| apply(&mut views.borrow_mut().per_fold, *d, *r))
                .probe_with(p);
            let views = Rc::clone(&v);
            overall
                .inspect(move |(d, _, r)| apply(&mut views.borrow_mut().overall, *d, *r))
                .probe_with(p);
            let views = Rc::clone(&v);
            top.inspect(move |(d, _, r)| apply(&mut views.borrow_mut().top, *d, *r))
                .probe_with(p);
            top_per_fold
                .inspect(move |(d, _, r)| apply(&mut v.borrow_mut().top_per_fold, *d, *r))
                .probe_with(p);
        });
        input.advance_to(1);
        IncrementalSweep {
            input,
            probe,
            views,
            exploded,
            worker,
            grid: grid.clone(),
            top_k,
            sets: BTreeMap::new(),
            next_id: 0,
            terms_computed: 0,
            reader: Reader::new(),
        }
    }

    /// The grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Configurations kept per set and per fold by [`IncrementalSweep::top`].
    pub fn top_k(&self) -> usize {
        self.top_k
    }

    /// Inserts `set` (replacing a set of the same name): reads its records and computes their
    /// terms (the only per-image work), then stages their rows; the results change at the next
    /// [`IncrementalSweep::commit`]. Returns the number of images. On an error nothing is
    /// staged (a set of the same name stays).
    pub fn insert(&mut self, set: &PredictionSet) -> Result<usize, SweepError> {
        let plan = self.grid.plan_for(set.size(), set.encoding());
        let id = self.next_id;
        let mut rows = Vec::with_capacity(set.len());
        for index in 0..set.len() {
            let terms = set.terms(index, &plan, &mut self.reader)?;
            self.terms_computed += 1;
            rows.push(((id, index as u32), (set.fold(index), set.size(), terms)));
        }
        self.remove(set.name());
        self.next_id += 1;
        for row in &rows {
            self.input.update(row.clone(), 1);
        }
        let images = rows.len();
        let loaded = Loaded {
            id,
            size: set.size(),
            rows,
        };
        self.sets.insert(set.name().to_string(), loaded);
        Ok(images)
    }

    /// Retracts the set `name` (staged until the next commit); false when it is not held.
    pub fn remove(&mut self, name: &str) -> bool {
        let Some(loaded) = self.sets.remove(name) else {
            return false;
        };
        for row in loaded.rows {
            self.input.update(row, -1);
        }
        true
    }

    /// Applies the staged inserts and retractions: advances the input and runs the dataflow
    /// until every output reflects them.
    pub fn commit(&mut self) {
        let next = *self.input.time() + 1;
        self.input.advance_to(next);
        self.input.flush();
        while self.probe.less_than(self.input.time()) {
            self.worker.step();
        }
    }

    /// The names of the sets held, in name order.
    pub fn names(&self) -> Vec<String> {
        self.sets.keys().cloned().collect()
    }

    /// Images whose terms were computed so far (the per-image pass over pixels).
    pub fn terms_computed(&self) -> u64 {
        self.terms_computed
    }

    /// Rows the dataflow has expanded into per-configuration terms so far (an insert and a
    /// retraction each expand the set's rows once; untouched sets are never expanded again).
    pub fn rows_exploded(&self) -> u64 {
        self.exploded.get()
    }

    /// The committed results, as the non-incremental sweep reports them: every held set in
    /// name order, with its sums per fold.
    pub fn result(&self) -> SweepResult {
        let views = self.views.borrow();
        let n = self.grid.len();
        let mut by_set: HashMap<u32, BTreeMap<Fold, (u64, Vec<u128>)>> = HashMap::new();
        for (&((set, fold, config), d), &r) in &views.per_fold {
            debug_assert_eq!(r, 1, "a committed count");
            let entry = (by_set.entry(set).or_default().entry(fold))
                .or_insert_with(|| (d.images as u64, vec![0; n]));
            entry.1[config as usize] = d.sum as u128;
        }
        let sets = (self.sets.iter())
            .map(|(name, loaded)| SetResult {
                name: name.clone(),
                size: loaded.size,
                folds: (by_set.remove(&loaded.id).unwrap_or_default().into_iter())
                    .map(|(fold, (images, sums))| (fold, DiceSums::from_parts(images, sums)))
                    .collect(),
            })
            .collect();
        SweepResult {
            grid: self.grid.clone(),
            sets,
        }
    }

    /// The maintained overall sums of set `name` (the `overall` collection).
    pub fn overall(&self, name: &str) -> Option<DiceSums> {
        let id = self.sets.get(name)?.id;
        let views = self.views.borrow();
        let mut sums = vec![0u128; self.grid.len()];
        let mut images = 0;
        let start = ((id, 0), DiceDiff::default());
        for (&((set, config), d), _) in views.overall.range(start..) {
            if set != id {
                break;
            }
            images = d.images as u64;
            sums[config as usize] = d.sum as u128;
        }
        Some(DiceSums::from_parts(images, sums))
    }

    /// The `top_k` best configurations of set `name` overall, best first (the `top`
    /// collection).
    pub fn top(&self, name: &str) -> Option<Vec<Ranked>> {
        let loaded = self.sets.get(name)?;
        let views = self.views.borrow();
        let images = loaded.rows.len() as u64;
        let span = (loaded.id, (i128::MIN, 0))..=(loaded.id, (i128::MAX, u32::MAX));
        let ranked = (views.top.range(span)).map(|(&(_, rank), _)| ranked(rank, images));
        Some(ranked.rev().collect())
    }

    /// The `top_k` best configurations of set `name` per fold, folds in order, best first (the
    /// `top_per_fold` collection).
    pub fn top_per_fold(&self, name: &str) -> Option<Vec<(Fold, Vec<Ranked>)>> {
        let loaded = self.sets.get(name)?;
        let views = self.views.borrow();
        let mut images: BTreeMap<Fold, u64> = BTreeMap::new();
        for (_, (fold, _, _)) in &loaded.rows {
            *images.entry(*fold).or_default() += 1;
        }
        let mut out: Vec<(Fold, Vec<Ranked>)> = Vec::new();
        for &((set, fold), rank) in views.top_per_fold.keys() {
            if set != loaded.id {
                continue;
            }
            let r = ranked(rank, images.get(&fold).copied().unwrap_or(0));
            match out.last_mut() {
                Some((f, list)) if *f == fold => list.insert(0, r),
                _ => out.push((fold, vec![r])),
            }
        }
        Some(out)
    }
}

/// A `reduce` input: a key's ranks with their counts, in ascending order.
type Ranks<'a> = [(&'a Rank, isize)];

/// A `reduce` body keeping the `k` greatest ranks of a key (values arrive in ascending order).
fn keep_best<K>(k: usize) -> impl FnMut(&K, &Ranks<'_>, &mut Vec<(Rank, isize)>) {
    move |_key, input, out| out.extend(input.iter().rev().take(k).map(|(r, _)| (**r, 1)))
}

fn ranked((sum, inverted): Rank, images: u64) -> Ranked {
    Ranked {
        config: (u32::MAX - inverted) as usize,
        sum: sum as u128,
        images,
    }
}
