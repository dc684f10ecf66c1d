//! The cost budget of CEL expressions.
//!
//! CEL has no loops or recursion, but it is not cheap by construction: macros nest
//! (`a.exists(x, b.exists(y, x == y))` is quadratic in the record), and some functions grow
//! their input (`s.replace('', s)` squares the length of `s`, so a few chained calls on a
//! short literal already ask for gigabytes). The `cel` crate has no step counter to stop an
//! evaluation midway, so the bound is computed ahead of it.
//!
//! When an expression is compiled, [`analyze`] walks its syntax tree and bounds, for every
//! node, the size of its value, the number of its elements and the cost of evaluating it,
//! each as a polynomial in `n`, the size of the record it is evaluated on (string bytes,
//! plus one per value, element and key: [`crate::expr`] measures it when it converts the
//! record). Iterations over an element are summed, not multiplied by the largest element:
//! the sizes of a list's elements add up to at most the list's size, and every bound here
//! is a polynomial with non-negative coefficients, whose values on the elements add up to
//! at most its value on their sum (plus the constant term once per element). The bounds
//! are upper bounds — a value whose real size is smaller costs less.
//!
//! - An expression whose cost grows faster than `n^`[`MAX_DEGREE`], that nests macros more
//!   than [`MAX_MACRO_NESTING`] deep, or that would cost more than [`COST_BUDGET`] steps on
//!   a record of [`REFERENCE_RECORD_UNITS`] units (a small record: a blow-up written in
//!   literals costs that much on any record), is refused when it is compiled.
//! - Before each evaluation the bound is computed for the actual record; over
//!   [`COST_BUDGET`], the record is refused with a clear error instead of being evaluated.

use cel::IdedExpr;
use cel::common::ast::{ComprehensionExpr, EntryExpr, Expr, LiteralValue, operators};

/// The highest power of the record's size an expression's cost may grow with.
pub const MAX_DEGREE: usize = 4;

/// The deepest nesting of macros (`map`, `filter`, `all`, `exists`, `exists_one`).
pub const MAX_MACRO_NESTING: usize = 4;

/// The most steps one evaluation may cost. A step is about one value visited or one byte
/// copied, and the bound overestimates: at the budget, a quadratic expression (a join of
/// two lists of about a thousand elements each) evaluates in a fraction of a second in an
/// optimised build and allocates at most tens of megabytes, while a linear expression
/// passes on records of a megabyte and more.
pub const COST_BUDGET: f64 = 5.0e7;

/// The record size an expression must fit the budget for when it is compiled.
pub const REFERENCE_RECORD_UNITS: f64 = 1024.0;

/// What compiling `matches` costs, whatever the pattern (the regex crate bounds its
/// compiled size).
const REGEX_COMPILE_COST: f64 = 10_000.0;

/// The largest output of one `format` clause (`%.100f` of a large number).
const FORMAT_CLAUSE_SIZE: f64 = 400.0;

const TERMS: usize = MAX_DEGREE + 1;

/// A polynomial in the record's size with non-negative coefficients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Poly([f64; TERMS]);

impl Poly {
    const ZERO: Self = Self([0.0; TERMS]);

    fn constant(value: f64) -> Self {
        let mut terms = [0.0; TERMS];
        terms[0] = value;
        Self(terms)
    }

    fn record() -> Self {
        let mut terms = [0.0; TERMS];
        terms[1] = 1.0;
        Self(terms)
    }

    fn add(self, other: Self) -> Self {
        let mut terms = self.0;
        for (term, more) in terms.iter_mut().zip(other.0) {
            *term += more;
        }
        Self(terms)
    }

    fn plus(self, value: f64) -> Self {
        self.add(Self::constant(value))
    }

    fn scale(self, factor: f64) -> Self {
        Self(
            self.0
                .map(|term| if term == 0.0 { 0.0 } else { term * factor }),
        )
    }

    /// A polynomial at least both (coefficient by coefficient).
    fn max(self, other: Self) -> Self {
        let mut terms = self.0;
        for (term, more) in terms.iter_mut().zip(other.0) {
            *term = term.max(more);
        }
        Self(terms)
    }

    /// `self - other`, coefficients below zero raised to zero (still an upper bound when
    /// `self >= other` everywhere).
    fn minus(self, other: Self) -> Self {
        let mut terms = self.0;
        for (term, less) in terms.iter_mut().zip(other.0) {
            *term = if term.is_infinite() {
                *term
            } else {
                (*term - less).max(0.0)
            };
        }
        Self(terms)
    }

    fn mul(self, other: Self) -> Result<Self, String> {
        let mut terms = [0.0; TERMS];
        for (i, a) in self.0.iter().enumerate() {
            for (j, b) in other.0.iter().enumerate() {
                if *a == 0.0 || *b == 0.0 {
                    continue;
                }
                let Some(term) = terms.get_mut(i + j) else {
                    return Err(too_steep());
                };
                *term += a * b;
            }
        }
        Ok(Self(terms))
    }

    /// The value for a record of `units` units (infinite when it overflows).
    pub fn at(&self, units: f64) -> f64 {
        let value = self
            .0
            .iter()
            .rev()
            .fold(0.0, |sum, term| sum * units + term);
        if value.is_nan() { f64::INFINITY } else { value }
    }
}

fn too_steep() -> String {
    format!(
        "the expression is too costly: its cost grows faster than the record's size to the \
         power {MAX_DEGREE} (macros nested over the same data, or chained `replace`, `join` \
         or `format` growing their input)"
    )
}

/// Bounds of one value: its size, its number of elements, and the cost of computing it.
#[derive(Debug, Clone, Copy)]
struct Bound {
    size: Poly,
    count: Poly,
    cost: Poly,
}

impl Bound {
    const EMPTY: Self = Self {
        size: Poly::ZERO,
        count: Poly::ZERO,
        cost: Poly::ZERO,
    };

    /// A value of `size` units (its elements at most as many).
    fn sized(size: Poly, cost: Poly) -> Self {
        Self {
            size,
            count: size,
            cost,
        }
    }

    fn scalar(cost: Poly) -> Self {
        Self::sized(Poly::constant(1.0), cost)
    }
}

/// The bound of an expression's cost, as a polynomial in the size of the record it is
/// evaluated on; an error (for the spec author) when it is over the limits.
pub fn analyze(expression: &IdedExpr) -> Result<Poly, String> {
    let mut analyzer = Analyzer {
        scopes: vec![(
            "record".to_owned(),
            Bound::sized(Poly::record(), Poly::ZERO),
        )],
        nesting: 0,
    };
    let cost = analyzer.bound(expression)?.cost;
    let reference = cost.at(REFERENCE_RECORD_UNITS);
    if reference > COST_BUDGET {
        return Err(format!(
            "the expression is too costly: about {reference:.0} steps on a record of \
             {REFERENCE_RECORD_UNITS} units, over the budget of {COST_BUDGET} steps"
        ));
    }
    Ok(cost)
}

struct Analyzer {
    /// The variables in scope, innermost last.
    scopes: Vec<(String, Bound)>,
    /// How deep in macros the walk is.
    nesting: usize,
}

impl Analyzer {
    fn variable(&self, name: &str) -> Option<Bound> {
        self.scopes
            .iter()
            .rev()
            .find(|(variable, _)| variable == name)
            .map(|(_, bound)| *bound)
    }

    fn bound(&mut self, expression: &IdedExpr) -> Result<Bound, String> {
        let one = Poly::constant(1.0);
        Ok(match &expression.expr {
            Expr::Unspecified => Bound::scalar(one),
            Expr::Literal(literal) => {
                let size = match literal {
                    LiteralValue::String(text) => text.len() as f64,
                    LiteralValue::Bytes(bytes) => bytes.len() as f64,
                    _ => 1.0,
                };
                Bound::sized(Poly::constant(size), one)
            }
            Expr::Ident(name) => match self.variable(name) {
                Some(bound) => Bound { cost: one, ..bound },
                None => Bound::scalar(one),
            },
            Expr::Select(select) => {
                let operand = self.bound(&select.operand)?;
                if select.test {
                    Bound::scalar(operand.cost.plus(1.0))
                } else {
                    Bound::sized(operand.size, operand.cost.plus(1.0))
                }
            }
            Expr::List(list) => {
                let mut total = Bound::EMPTY;
                for element in &list.elements {
                    let element = self.bound(element)?;
                    total.size = total.size.add(element.size).plus(1.0);
                    total.cost = total.cost.add(element.cost).plus(1.0);
                }
                Bound {
                    count: Poly::constant(list.elements.len() as f64),
                    ..total
                }
            }
            Expr::Map(map) => self.entries(&map.entries)?,
            Expr::Struct(structure) => self.entries(&structure.entries)?,
            Expr::Call(call) => {
                let mut operands = Vec::with_capacity(call.args.len() + 1);
                if let Some(target) = &call.target {
                    operands.push(self.bound(target)?);
                }
                for arg in &call.args {
                    operands.push(self.bound(arg)?);
                }
                let inputs = operands
                    .iter()
                    .fold(one, |cost, operand| cost.add(operand.cost));
                call_bound(&call.func_name, &operands, inputs)?
            }
            Expr::Comprehension(comprehension) => self.comprehension(comprehension)?,
        })
    }

    fn entries(&mut self, entries: &[cel::common::ast::IdedEntryExpr]) -> Result<Bound, String> {
        let mut total = Bound::EMPTY;
        for entry in entries {
            let (key, value) = match &entry.expr {
                EntryExpr::MapEntry(entry) => (Some(self.bound(&entry.key)?), &entry.value),
                EntryExpr::StructField(field) => (None, &field.value),
            };
            let value = self.bound(value)?;
            let key = key.unwrap_or(Bound::scalar(Poly::ZERO));
            // Key and value, and hashing the key.
            total.size = total.size.add(key.size).add(value.size).plus(1.0);
            total.cost = total
                .cost
                .add(key.cost)
                .add(value.cost)
                .add(key.size)
                .plus(1.0);
        }
        Ok(Bound {
            count: Poly::constant(entries.len() as f64),
            ..total
        })
    }

    /// A macro: `range.map(x, body)` and the like, expanded by the parser into a loop.
    fn comprehension(&mut self, comprehension: &ComprehensionExpr) -> Result<Bound, String> {
        if self.nesting >= MAX_MACRO_NESTING {
            return Err(format!(
                "the expression is too costly: it nests macros (map, filter, all, exists, \
                 exists_one) more than {MAX_MACRO_NESTING} deep"
            ));
        }
        let range = self.bound(&comprehension.iter_range)?;
        let init = self.bound(&comprehension.accu_init)?;
        // The loop step and condition for an element of size 0 and of the range's whole
        // size, the accumulator empty (macros only append to it, in place).
        let element = Bound::sized(range.size, Poly::ZERO);
        let at_zero = self.in_scope(comprehension, Bound::EMPTY, Bound::EMPTY, |this| {
            Ok((
                this.bound(&comprehension.loop_step)?,
                this.bound(&comprehension.loop_cond)?,
            ))
        })?;
        let at_full = self.in_scope(comprehension, element, Bound::EMPTY, |this| {
            Ok((
                this.bound(&comprehension.loop_step)?,
                this.bound(&comprehension.loop_cond)?,
            ))
        })?;
        let iterations = range.count;
        let total = |zero: Poly, full: Poly| -> Result<Poly, String> {
            Ok(iterations.mul(zero)?.add(full.minus(zero)))
        };
        let accumulator = Bound {
            size: init.size.add(total(at_zero.0.size, at_full.0.size)?),
            count: init.count.add(total(at_zero.0.count, at_full.0.count)?),
            cost: Poly::ZERO,
        };
        let loop_cost = total(
            at_zero.0.cost.add(at_zero.1.cost),
            at_full.0.cost.add(at_full.1.cost),
        )?
        // Binding each element copies it.
        .add(iterations)
        .add(range.size);
        let result = self.in_scope(comprehension, element, accumulator, |this| {
            this.bound(&comprehension.result)
        })?;
        Ok(Bound {
            size: result.size,
            count: result.count,
            cost: range
                .cost
                .add(init.cost)
                .add(loop_cost)
                .add(result.cost)
                .plus(1.0),
        })
    }

    /// Runs `walk` with the comprehension's variables bound.
    fn in_scope<T>(
        &mut self,
        comprehension: &ComprehensionExpr,
        element: Bound,
        accumulator: Bound,
        walk: impl FnOnce(&mut Self) -> Result<T, String>,
    ) -> Result<T, String> {
        let depth = self.scopes.len();
        self.scopes.push((comprehension.iter_var.clone(), element));
        if let Some(second) = &comprehension.iter_var2 {
            self.scopes.push((second.clone(), element));
        }
        self.scopes
            .push((comprehension.accu_var.clone(), accumulator));
        self.nesting += 1;
        let result = walk(self);
        self.nesting -= 1;
        self.scopes.truncate(depth);
        result
    }
}

/// The bound of a call of `function` on `operands` (the receiver first), `inputs` the cost
/// of computing them.
fn call_bound(function: &str, operands: &[Bound], inputs: Poly) -> Result<Bound, String> {
    let size = |index: usize| operands.get(index).map_or(Poly::ZERO, |o| o.size);
    let count = |index: usize| operands.get(index).map_or(Poly::ZERO, |o| o.count);
    let all_sizes = operands
        .iter()
        .fold(Poly::ZERO, |total, operand| total.add(operand.size));
    let all_counts = operands
        .iter()
        .fold(Poly::ZERO, |total, operand| total.add(operand.count));
    // A value of `size`, computed in time proportional to its size on top of its inputs.
    let grown = |size: Poly| Bound::sized(size, inputs.add(size));
    Ok(match function {
        operators::LOGICAL_AND
        | operators::LOGICAL_OR
        | operators::LOGICAL_NOT
        | operators::NOT_STRICTLY_FALSE
        | operators::SUBSTRACT
        | operators::MULTIPLY
        | operators::DIVIDE
        | operators::MODULO
        | operators::NEGATE => Bound::scalar(inputs),
        operators::CONDITIONAL => Bound {
            size: size(1).max(size(2)),
            count: count(1).max(count(2)),
            cost: inputs,
        },
        operators::EQUALS
        | operators::NOT_EQUALS
        | operators::LESS
        | operators::LESS_EQUALS
        | operators::GREATER
        | operators::GREATER_EQUALS
        | "size"
        | "contains"
        | "startsWith"
        | "endsWith"
        | "hasValue"
        | "bool" => Bound::scalar(inputs.add(all_sizes)),
        // Each element compared with the value.
        operators::IN => Bound::scalar(inputs.add(size(1)).add(count(1).mul(size(0))?)),
        operators::ADD => Bound {
            size: all_sizes,
            count: all_counts,
            cost: inputs.add(all_sizes),
        },
        operators::INDEX | operators::OPT_INDEX | operators::OPT_SELECT => {
            Bound::sized(size(0), inputs.add(size(1)))
        }
        "matches" => Bound::scalar(
            inputs
                .add(size(0).mul(size(1).plus(1.0))?)
                .add(size(1))
                .plus(REGEX_COMPILE_COST),
        ),
        "indexOf" | "lastIndexOf" => {
            Bound::scalar(inputs.add(size(0).mul(size(1).plus(1.0))?).add(size(0)))
        }
        "charAt" => Bound::sized(Poly::constant(4.0), inputs.add(size(0))),
        "lowerAscii" | "upperAscii" | "trim" | "reverse" | "substring" => grown(size(0)),
        "strings.quote" => grown(size(0).scale(8.0).plus(2.0)),
        // Every occurrence (the empty one is between every two characters) replaced.
        "replace" => grown(size(0).add(size(0).plus(1.0).mul(size(2))?).add(size(1))),
        "split" => Bound {
            size: size(0).scale(2.0).plus(1.0),
            count: size(0).plus(1.0),
            cost: inputs.add(size(0).scale(2.0)).add(size(1)),
        },
        "join" => grown(size(0).add(count(0).mul(size(1))?)),
        "format" => grown(
            size(0)
                .scale(FORMAT_CLAUSE_SIZE)
                .add(size(1).scale(4.0))
                .plus(FORMAT_CLAUSE_SIZE),
        ),
        "int" | "uint" | "double" | "string" | "bytes" | "timestamp" | "duration" | "dyn"
        | "type" => grown(all_sizes.plus(32.0)),
        "getFullYear" | "getMonth" | "getDayOfYear" | "getDayOfMonth" | "getDate"
        | "getDayOfWeek" | "getHours" | "getMinutes" | "getSeconds" | "getMilliseconds" => {
            Bound::scalar(inputs.add(all_sizes))
        }
        "optional.of"
        | "optional.ofNonZeroValue"
        | "optional.none"
        | "value"
        | "orValue"
        | "or" => Bound {
            size: all_sizes.plus(1.0),
            count: all_counts.plus(1.0),
            cost: inputs.add(all_sizes),
        },
        // Any other function (an unknown one fails when it is called): a value about the
        // size of its inputs.
        _ => grown(all_sizes.plus(32.0)),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn cost(source: &str) -> Result<Poly, String> {
        let program = cel::Env::stdlib().compile(source).unwrap();
        analyze(program.expression())
    }

    fn degree(poly: &Poly) -> usize {
        poly.0.iter().rposition(|term| *term > 0.0).unwrap_or(0)
    }

    #[test]
    fn everyday_expressions_cost_about_the_record() {
        for source in [
            "record.first + ' ' + record.last",
            "record.qty * record.price",
            "record.age >= 18 ? 'adult' : 'minor'",
            "record.items.map(i, i.price).filter(p, p > 5)",
            "record.orders.map(o, o.items.map(i, i.qty * i.price))",
            "record.tags.join(',')",
            "has(record.nick) ? record.nick : 'none'",
            "record.email.lowerAscii().trim()",
        ] {
            let poly = cost(source).unwrap();
            assert!(degree(&poly) <= 1, "{source}: {poly:?}");
        }
    }

    #[test]
    fn a_join_of_two_lists_is_quadratic_and_allowed() {
        let poly = cost("record.a.exists(x, record.b.exists(y, x == y))").unwrap();
        assert_eq!(degree(&poly), 2, "{poly:?}");
    }

    #[test]
    fn chained_replace_on_a_literal_is_refused_at_compile_time() {
        // Each call multiplies the length by 9: 20 of them ask for 10^19 bytes.
        let chain = ".replace('', 'abcdefgh')".repeat(20);
        let error = cost(&format!("'abcdefgh'{chain}")).unwrap_err();
        assert!(error.contains("too costly"), "{error}");
        // A few are fine.
        let chain = ".replace('', 'abcdefgh')".repeat(3);
        assert!(cost(&format!("'abcdefgh'{chain}")).is_ok());
    }

    #[test]
    fn growing_the_record_faster_than_its_fourth_power_is_refused() {
        let chain = ".replace('', record.s)".repeat(4);
        let error = cost(&format!("record.s{chain}")).unwrap_err();
        assert!(error.contains("power 4"), "{error}");
    }

    #[test]
    fn deeply_nested_macros_are_refused() {
        let error = cost(
            "record.l.all(a, record.l.all(b, record.l.all(c, record.l.all(d, record.l.all(e, true)))))",
        )
        .unwrap_err();
        assert!(error.contains("too costly"), "{error}");
    }
}
