#!/usr/bin/env bash
# make check-diff: fails if `make generate` changes any file, that is, if the
# generated code, the CRDs or a go.mod/go.sum is stale against its sources.
#
# It compares the tree after `make generate` with the tree before it, not
# with HEAD, so that it also works on uncommitted changes (which is when
# `make reviewable` is run). On CI's clean clone the two are the same thing:
# any file that generate changes is drift.
set -euo pipefail
cd "$(dirname "$0")/.."

# state prints one line per file that differs from HEAD or is untracked (and
# not ignored): the hash of its content, or "deleted", and its path.
state() {
	{ git diff --name-only -z HEAD; git ls-files -z --others --exclude-standard; } |
		while IFS= read -r -d '' f; do
			if [ -e "$f" ]; then
				echo "$(git hash-object -- "$f") $f"
			else
				echo "deleted $f"
			fi
		done | sort -u
}

before=$(state)
"${MAKE:-make}" --no-print-directory generate
after=$(state)

if [ "$before" == "$after" ]; then
	echo "check-diff: make generate changed nothing"
	exit 0
fi

echo "check-diff: make generate changed these files; review and commit them:"
{ diff <(echo "$before") <(echo "$after") || true; } | sed -n 's/^[<>] [^ ]* //p' | sort -u | sed 's/^/  /'
if [ -z "$before" ]; then
	# The tree was clean, so everything that differs now is drift.
	git status --porcelain
	git --no-pager diff
fi
exit 1
