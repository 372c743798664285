// Package english words the counts in capi-planner's messages.
package english

// Plural is word for one, word+"s" for any other count.
func Plural(word string, n int) string {
	return Choose(word, word+"s", n)
}

// Choose is singular for one, plural for any other count ("is"/"are").
func Choose(singular, plural string, n int) string {
	if n == 1 {
		return singular
	}
	return plural
}
