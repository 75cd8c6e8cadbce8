//! Startup order and cycles over sibling indices: plain data, unit-tested.

/// Children after their dependencies, ties in declaration order; `Err` with one cycle (as a
/// path along "depends on" edges, first index repeated at the end) if there is one.
pub(crate) fn startup_order(dependencies: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let n = dependencies.len();
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let next = (0..n).find(|&i| !placed[i] && dependencies[i].iter().all(|&d| placed[d]));
        match next {
            Some(i) => {
                placed[i] = true;
                order.push(i);
            }
            None => return Err(find_cycle(dependencies, &placed)),
        }
    }
    Ok(order)
}

/// The shutdown's order: newest first (the reverse of `startup`), each child once everything
/// it stops after (`stops_after`, acyclic) has stopped.
pub(crate) fn stop_order(startup: &[usize], stops_after: &[Vec<usize>]) -> Vec<usize> {
    let newest_first: Vec<usize> = startup.iter().rev().copied().collect();
    let mut stopped = vec![false; stops_after.len()];
    let mut order = Vec::with_capacity(newest_first.len());
    while order.len() < newest_first.len() {
        let next = newest_first
            .iter()
            .copied()
            .find(|&i| !stopped[i] && stops_after[i].iter().all(|&a| stopped[a]));
        let Some(next) = next else {
            break;
        };
        stopped[next] = true;
        order.push(next);
    }
    order
}

/// Follows unplaced dependencies from the first unplaced child until a child repeats.
fn find_cycle(dependencies: &[Vec<usize>], placed: &[bool]) -> Vec<usize> {
    let Some(start) = (0..dependencies.len()).find(|&i| !placed[i]) else {
        return Vec::new();
    };
    let mut path = vec![start];
    let mut current = start;
    loop {
        let Some(&next) = dependencies[current].iter().find(|&&d| !placed[d]) else {
            return Vec::new();
        };
        if let Some(position) = path.iter().position(|&p| p == next) {
            let mut cycle = path[position..].to_vec();
            cycle.push(next);
            return cycle;
        }
        path.push(next);
        current = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_dependencies_first_then_declaration() {
        assert_eq!(
            startup_order(&[vec![2], vec![], vec![1]]),
            Ok(vec![1, 2, 0])
        );
        assert_eq!(startup_order(&[vec![], vec![], vec![]]), Ok(vec![0, 1, 2]));
    }

    #[test]
    fn stops_consumers_after_their_producers_otherwise_newest_first() {
        // 0 consumes what 2 sends: 2 first though 1 is newer than 0 only.
        assert_eq!(
            stop_order(&[0, 1, 2], &[vec![2], vec![], vec![]]),
            [2, 1, 0]
        );
        assert_eq!(
            stop_order(&[0, 1, 2], &[vec![], vec![], vec![0]]),
            [1, 0, 2]
        );
    }

    #[test]
    fn finds_the_cycle() {
        assert_eq!(
            startup_order(&[vec![1], vec![2], vec![0], vec![]]),
            Err(vec![0, 1, 2, 0])
        );
        assert_eq!(startup_order(&[vec![], vec![1]]), Err(vec![1, 1]));
        // A child depending on a cycle is not part of it.
        assert_eq!(
            startup_order(&[vec![1], vec![2], vec![1]]),
            Err(vec![1, 2, 1])
        );
    }
}
