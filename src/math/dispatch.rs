//! Run-time SIMD dispatch for the crate's hot loops.
//!
//! A loop written as a [`Kernel`] (or a function written with
//! `dispatched!`) is compiled once per instruction set `pulp` knows
//! (baseline, AVX2 with FMA, AVX-512) and run in the widest one the CPU
//! offers. The loops call [`super::fast`]'s functions, whose fused
//! multiply-adds are single instructions only inside such a context.

/// A loop to run through [`vectorised`]; `run` must be
/// `#[inline(always)]` so that its body is compiled inside the
/// wider-SIMD context.
pub trait Kernel {
    /// What the loop returns.
    type Output;

    /// Runs the loop.
    fn run(self) -> Self::Output;
}

/// Adapts a [`Kernel`] to `pulp`'s dispatch.
struct Dispatched<K>(K);

impl<K: Kernel> pulp::WithSimd for Dispatched<K> {
    type Output = K::Output;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> K::Output {
        self.0.run()
    }
}

/// Runs `kernel` compiled for the widest SIMD instruction set the CPU
/// offers (detected at run time by `pulp`, e.g. AVX2 on x86-64), falling
/// back to the baseline target. Loops over slices that call the functions
/// of this module vectorise with the wider registers. Results are the same
/// bit for bit on every path: Rust never fuses `a * b + c` into an FMA on
/// its own, and these functions use no reductions.
#[inline(always)]
pub fn vectorised<K: Kernel>(kernel: K) -> K::Output {
    pulp::Arch::new().dispatch(Dispatched(kernel))
}

/// Defines a function whose body runs through [`vectorised`]:
///
/// ```text
/// dispatched! {
///     /// docs
///     fn name(arg: Type, …) { body }
/// }
/// ```
///
/// The body becomes a [`Kernel`]'s `#[inline(always)]` `run`, so it is
/// compiled inside the dispatched function (a closure or a plain function
/// passed in would be compiled apart, for the baseline target). The
/// function returns nothing.
///
/// Every caller of this module's functions should run inside
/// [`vectorised`] or such a function: they use fused multiply-adds, which
/// are one instruction on CPUs with FMA (selected by the dispatch) but a
/// slow library call in code compiled for the baseline target. The
/// results are the same bit for bit either way.
macro_rules! dispatched {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) {
            struct Body<A>(A);
            impl $crate::math::dispatch::Kernel for Body<($($ty,)*)> {
                type Output = ();

                #[inline(always)]
                fn run(self) {
                    let ($($arg,)*) = self.0;
                    $body
                }
            }
            $crate::math::dispatch::vectorised(Body(($($arg,)*)));
        }
    };
}
pub(crate) use dispatched;

/// An element-wise update `out_j = f(out_j, a_j, b_j)` as a [`Kernel`].
struct ZipMap<'a, F> {
    out: &'a mut [f64],
    a: &'a [f64],
    b: &'a [f64],
    f: F,
}

impl<F: Fn(f64, f64, f64) -> f64> Kernel for ZipMap<'_, F> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        for (o, (&x, &y)) in self.out.iter_mut().zip(self.a.iter().zip(self.b)) {
            *o = (self.f)(*o, x, y);
        }
    }
}

/// `out_j = f(out_j, a_j, b_j)` over the common length, through
/// [`vectorised`]; `f` should be a small closure of arithmetic and
/// selects.
#[inline(always)]
pub fn zip_map(out: &mut [f64], a: &[f64], b: &[f64], f: impl Fn(f64, f64, f64) -> f64) {
    vectorised(ZipMap { out, a, b, f });
}
