# The xborder evaluation semantics (DESIGN.md section 2) for direct flows, written in Rego
# so a general-purpose policy engine (regorus) can do the same work as the xborder engine.
# The rules themselves are data (data.rule_sets), generated from deploy/rules by
# benches/rego.rs with groups and category sets expanded.
package xborder

import rego.v1

applicable contains rule_set if {
	input.origin != input.destination
	some rule_set in data.rule_sets
	input.origin in rule_set.applies_to
}

listed(value, list) if value in list

covers(key, category) if key == category

covers(key, category) if startswith(category, concat("", [key, "."]))

protection := input.protection if input.protection != ""

protection := "none" if input.protection == ""

destinations_in_ok(c) if not c.destinations_in

destinations_in_ok(c) if listed(input.destination, c.destinations_in)

destinations_not_in_ok(c) if not listed(input.destination, c.destinations_not_in)

origin_in_ok(c) if not c.origin_in

origin_in_ok(c) if listed(input.origin, c.origin_in)

origin_not_in_ok(c) if not listed(input.origin, c.origin_not_in)

categories_ok(c) if not c.categories_any

categories_ok(c) if {
	some category in input.data_categories
	some key in c.categories_any
	covers(key, category)
}

min_ok(c) if not c.min_subjects

min_ok(c) if input.data_subject_count >= c.min_subjects

max_ok(c) if not c.max_subjects

max_ok(c) if input.data_subject_count < c.max_subjects

purposes_ok(c) if not c.purposes_any

purposes_ok(c) if listed(input.purpose, c.purposes_any)

protection_ok(c) if not c.protection_any

protection_ok(c) if listed(protection, c.protection_any)

exporter_ok(c) if not c.exporter

exporter_ok(c) if {
	every attribute, wanted in c.exporter {
		object.get(input.exporter, attribute, false) == wanted
	}
}

importer_ok(c) if not c.importer

importer_ok(c) if {
	every attribute, wanted in c.importer {
		object.get(input.importer, attribute, false) == wanted
	}
}

holds(c) if {
	destinations_in_ok(c)
	destinations_not_in_ok(c)
	origin_in_ok(c)
	origin_not_in_ok(c)
	importer_ok(c)
	categories_ok(c)
	min_ok(c)
	max_ok(c)
	purposes_ok(c)
	protection_ok(c)
	exporter_ok(c)
}

from_ok(rule) if not rule.effective_from

from_ok(rule) if input.today >= rule.effective_from

until_ok(rule) if not rule.effective_until

until_ok(rule) if input.today < rule.effective_until

exempt(rule) if {
	some block in rule.unless
	holds(block)
}

matched contains rule if {
	some rule_set in applicable
	some rule in rule_set.rules
	from_ok(rule)
	until_ok(rule)
	holds(rule.when)
	not exempt(rule)
}

# A stated mechanism also counts as every mechanism it implies.
safeguards contains implied if {
	some stated in input.safeguards
	some implied in data.implied[stated]
}

met(rule) if {
	some mechanism in rule.any_of
	mechanism in safeguards
}

severities contains 3 if {
	some rule in matched
	rule.effect == "prohibit"
}

severities contains 2 if {
	some rule in matched
	rule.effect == "review"
}

severities contains 2 if {
	input.origin != input.destination
	count(applicable) == 0
}

severities contains 1 if {
	some rule in matched
	rule.effect == "require"
	not met(rule)
}

decision := "PROHIBITED" if 3 in severities

decision := "REVIEW_REQUIRED" if {
	not 3 in severities
	2 in severities
}

decision := "CONDITIONAL" if {
	not 3 in severities
	not 2 in severities
	1 in severities
}

decision := "PERMITTED" if {
	not 3 in severities
	not 2 in severities
	not 1 in severities
}
