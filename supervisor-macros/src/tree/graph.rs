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
