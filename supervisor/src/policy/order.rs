//! The tree's orders: startup (dependencies first, ties in declaration order), shutdown (its
//! reverse) and the restart scope of a failure per strategy.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::model::Strategy;

/// The startup order of children given, for each child, the indices of the children it
/// depends on: every child after its dependencies, ties broken by declaration order. Returns
/// a dependency cycle (as a path `a, b, .., a` along "depends on" edges) if there is one.
///
/// ```
/// use supervisor::policy::startup_order;
///
/// // 0 depends on 2, 1 on nothing, 2 on 1.
/// assert_eq!(startup_order(&[vec![2], vec![], vec![1]]), Ok(vec![1, 2, 0]));
/// assert_eq!(startup_order(&[vec![1], vec![0]]), Err(vec![0, 1, 0]));
/// ```
pub fn startup_order(dependencies: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let n = dependencies.len();
    if dependencies.iter().all(Vec::is_empty) {
        return Ok((0..n).collect());
    }
    let mut waiting_on: Vec<usize> = dependencies.iter().map(Vec::len).collect();
    let dependents = dependents_of(dependencies);
    let mut ready: BinaryHeap<Reverse<usize>> = (0..n)
        .filter(|&i| waiting_on[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(next)) = ready.pop() {
        order.push(next);
        for &dependent in &dependents[next] {
            waiting_on[dependent] -= 1;
            if waiting_on[dependent] == 0 {
                ready.push(Reverse(dependent));
            }
        }
    }
    if order.len() == n {
        Ok(order)
    } else {
        Err(find_cycle(dependencies).unwrap_or_default())
    }
}

/// For each child, the children that depend on it directly, in declaration order.
pub fn dependents_of(dependencies: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut dependents = vec![Vec::new(); dependencies.len()];
    for (child, deps) in dependencies.iter().enumerate() {
        for &dep in deps {
            dependents[dep].push(child);
        }
    }
    dependents
}

/// A dependency cycle as a path along "depends on" edges, first node repeated at the end;
/// the cycle through the lowest declaration index first.
pub fn find_cycle(dependencies: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let n = dependencies.len();
    let mut mark = vec![Mark::New; n];
    for root in 0..n {
        if mark[root] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, next edge to follow); `path` mirrors the stack.
        let mut stack = vec![(root, 0usize)];
        mark[root] = Mark::OnPath;
        while let Some(&mut (node, ref mut edge)) = stack.last_mut() {
            if let Some(&next) = dependencies[node].get(*edge) {
                *edge += 1;
                match mark[next] {
                    Mark::New => {
                        mark[next] = Mark::OnPath;
                        stack.push((next, 0));
                    }
                    Mark::OnPath => {
                        let start = stack.iter().position(|&(n, _)| n == next)?;
                        let mut cycle: Vec<usize> =
                            stack[start..].iter().map(|&(n, _)| n).collect();
                        cycle.push(next);
                        return Some(cycle);
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                stack.pop();
            }
        }
    }
    None
}

/// The children restarted with `failed`, in startup order (`failed` included): per the
/// strategy, plus every child bound (`requires`), directly or not, to one of them.
///
/// There are `n` children; `rank(i)` is child `i`'s position in the startup order and
/// `dependents(i)` the children bound to `i` directly.
///
/// ```
/// use supervisor::Strategy;
/// use supervisor::policy::restart_scope;
///
/// // Startup order 0, 1, 2, 3; child 3 requires 0.
/// let dependents = [vec![3], vec![], vec![], vec![]];
/// let scope = |strategy, failed| restart_scope(strategy, failed, 4, |i| i, |i| &dependents[i]);
/// assert_eq!(scope(Strategy::OneForOne, 0), vec![0, 3]);
/// assert_eq!(scope(Strategy::RestForOne, 1), vec![1, 2, 3]);
/// assert_eq!(scope(Strategy::OneForAll, 2), vec![0, 1, 2, 3]);
/// ```
pub fn restart_scope<'a>(
    strategy: Strategy,
    failed: usize,
    n: usize,
    rank: impl Fn(usize) -> usize,
    dependents: impl Fn(usize) -> &'a [usize],
) -> Vec<usize> {
    let mut scope: Vec<usize> = match strategy {
        // The common case, and a restart in a large one_for_one tree stays O(1).
        Strategy::OneForOne if dependents(failed).is_empty() => return vec![failed],
        Strategy::OneForOne => vec![failed],
        Strategy::OneForAll => (0..n).collect(),
        Strategy::RestForOne => (0..n).filter(|&i| rank(i) >= rank(failed)).collect(),
    };
    // Membership by a set sized to the scope, not to the supervisor: a one_for_one scope is a
    // child and those bound to it.
    let mut in_scope: std::collections::HashSet<usize> = scope.iter().copied().collect();
    let mut pending = scope.clone();
    while let Some(child) = pending.pop() {
        for &dependent in dependents(child) {
            if in_scope.insert(dependent) {
                scope.push(dependent);
                pending.push(dependent);
            }
        }
    }
    scope.sort_by_key(|&i| rank(i));
    scope
}
