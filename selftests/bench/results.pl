#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
#
# Merges benchmark rows from several sources into one JSON list and prints
# them as a table:
#
#	perl results.pl OUT.json SOURCE...
#
# A SOURCE is a JSON file holding a list of rows, or a log (e.g. the
# tap.log of a test VM run) holding such a list between the lines
# "# ktstr-bench: json begin" and "# ktstr-bench: json end"; inside them
# a leading "# " is ignored.  A later row with the same id and kernel
# replaces an earlier one.  A source that does not exist or holds no rows
# is reported and skipped.  Exit status 1 if no row was found at all.
#
# A row (only id is required; what a row lacks shows as "-"):
#	id		unique per kernel, e.g. "tx_64k"
#	part		the issue's part (1-5), for ordering
#	kernel		where it ran
#	what, unit	"port-1 TX, 64 KiB chains", "MB/s"
#	better		"higher" or "lower"
#	figure, min, median, max	ours: the median of the samples, spread
#	baseline_name, baseline, base_min, base_median, base_max
#	ratio		figure / baseline
#	samples		how many samples (repetitions) the spread is over
#	memcpy, memcpy_min, memcpy_max, ratio_memcpy	optional
#	diag		optional object; note: optional text

use strict;
use warnings;
use JSON::PP;

my $BEGIN = '# ktstr-bench: json begin';
my $END = '# ktstr-bench: json end';

sub read_source {
	my ($path) = @_;
	my ($fh, $text, @block, $in);

	unless (open($fh, '<', $path)) {
		warn "results: $path: $!\n";
		return ();
	}
	$text = do { local $/; <$fh> };
	close($fh);
	if ($text =~ /^\s*\[/) {
		my $rows = eval { decode_json($text) };

		return @$rows if ref($rows) eq 'ARRAY';
		warn "results: $path: not a JSON list of rows\n";
		return ();
	}
	for my $line (split /\n/, $text) {
		if ($line eq $BEGIN) {
			($in, @block) = (1);
			next;
		}
		if ($line eq $END) {
			$in = 0;
			next;
		}
		next unless $in;
		$line =~ s/^# //;
		push @block, $line;
	}
	unless (@block) {
		warn "results: $path: no rows\n";
		return ();
	}
	my $rows = eval { decode_json(join("\n", @block)) };
	return @$rows if ref($rows) eq 'ARRAY';
	warn "results: $path: unreadable rows: $@";
	return ();
}

sub num {
	my ($v) = @_;

	return '-' unless defined $v && $v =~ /^-?[\d.]+(?:e[-+]?\d+)?$/i;
	return sprintf('%.3f', $v) if abs($v) < 10;
	return sprintf('%.1f', $v) if abs($v) < 1000;
	return sprintf('%.0f', $v);
}

sub spread {
	my ($lo, $mid, $hi) = @_;

	return join(' / ', map { num($_) } $lo, $mid, $hi);
}

my $out = shift @ARGV or die "usage: results.pl OUT.json SOURCE...\n";
my (@rows, %at);

for my $src (@ARGV) {
	for my $r (read_source($src)) {
		next unless ref($r) eq 'HASH' && defined $r->{id};
		my $key = $r->{id} . "\0" . ($r->{kernel} // '');

		if (defined $at{$key}) {
			$rows[$at{$key}] = $r;
		} else {
			$at{$key} = @rows;
			push @rows, $r;
		}
	}
}

# Stable: by kernel, then part, then the order the sources gave.
my @order = sort {
	($rows[$a]{kernel} // '') cmp ($rows[$b]{kernel} // '') ||
	($rows[$a]{part} // 99) <=> ($rows[$b]{part} // 99) || $a <=> $b
} 0 .. $#rows;
@rows = @rows[@order];

my $json = JSON::PP->new->canonical;
open(my $fh, '>', $out) or die "results: $out: $!\n";
print $fh "[\n", join(",\n", map { $json->encode($_) } @rows), "\n]\n";
close($fh);

unless (@rows) {
	print "no benchmark rows\n";
	exit 1;
}

my $w = 3;
for my $r (@rows) {
	$w = length($r->{id}) if length($r->{id}) > $w;
}
my $fmt = "%-4s %-${w}s %-5s %9s %9s %7s  %-26s %-26s %s\n";
my $kernel = '';
for my $r (@rows) {
	if (($r->{kernel} // '') ne $kernel) {
		$kernel = $r->{kernel} // '';
		printf("\n# kernel %s\n", $kernel || '?');
		printf($fmt, 'part', 'row', 'unit', 'ours', 'baseline',
		       'ratio', 'ours min / median / max',
		       'base min / median / max', 'memcpy');
	}
	printf($fmt, $r->{part} // '-', $r->{id}, $r->{unit} // '-',
	       num($r->{figure}), num($r->{baseline}), num($r->{ratio}),
	       spread(@$r{qw(min median max)}),
	       spread(@$r{qw(base_min base_median base_max)}),
	       defined $r->{memcpy} ? num($r->{memcpy}) : '');
}
print "\n";
for my $r (@rows) {
	my $better = $r->{better} ? "$r->{better} is better" : '';
	my $n = defined $r->{samples} ? "$r->{samples} samples" : '';

	printf("%-${w}s %s\n%-${w}s   vs %s (%s)\n", $r->{id}, $r->{what} // '-',
	       '', $r->{baseline_name} // '-',
	       join('; ', grep { $_ } $better, $n, $r->{note}));
}
print "\nrows in $out\n";
