#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
#
# ab-table.pl RUN.LOG: the table of ab.sh.  RUN.LOG holds, for each run
# of vc_bench, a line "# ab: MODULE ROUND" and then its JSON rows between
# "# ktstr-bench: json begin" and "... end" (lines with a "# " prefix).
# Prints, per row id, the median ratio to its baseline of module ref and
# of the tree, the spread of each (lowest and highest over the rounds)
# and the tree's change against ref.
use strict;
use warnings;
use JSON::PP;

my (%ratio, $mod, $json, $on);

open(my $fh, '<', $ARGV[0]) or die "$ARGV[0]: $!\n";
while (my $line = <$fh>) {
	chomp $line;
	if ($line =~ /^# ab: (\w+) (\d+)$/) {
		$mod = $1;
	} elsif ($line eq '# ktstr-bench: json begin') {
		($on, $json) = (1, '');
	} elsif ($line eq '# ktstr-bench: json end') {
		$on = 0;
		next unless defined $mod;
		for my $row (@{decode_json($json)}) {
			push @{$ratio{$row->{id}}{$mod}}, $row->{ratio}
				if defined $row->{ratio};
		}
	} elsif ($on) {
		(my $l = $line) =~ s/^# //;
		$json .= $l;
	}
}
close($fh);

sub median {
	my @v = sort { $a <=> $b } @_;

	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub cell {
	my ($v) = @_;

	return sprintf('%8s %-17s', '-', '') unless $v && @$v;
	my @s = sort { $a <=> $b } @$v;
	return sprintf('%8.3f %-17s', median(@s),
		       sprintf('(%.3f-%.3f)', $s[0], $s[-1]));
}

die "no rows in $ARGV[0]\n" unless %ratio;
printf("# %-22s %26s %26s %8s\n", 'row (ratio to baseline)',
       'ref median (range)', 'tree median (range)', 'change');
for my $id (sort keys %ratio) {
	my ($r, $t) = @{$ratio{$id}}{qw(ref tree)};
	my $change = '-';

	$change = sprintf('%+.1f%%', 100 * (median(@$t) / median(@$r) - 1))
		if $r && $t && @$r && @$t && median(@$r);
	printf("# %-22s %26s %26s %8s\n", $id, cell($r), cell($t), $change);
}
