package model

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file generates the simulated answers: deterministic prose built
// from the prompt's own words and a built-in vocabulary, shaped by the
// instructions in the system and last user messages.

// shape is what the instructions ask of an answer.
type shape struct {
	sentences int  // exactly this many sentences (0 = not asked)
	list      bool // a bulleted list
	brief     bool // short
	words     int  // at most this many words (0 = not asked)
}

// parseShape reads the instructions in text (system and last user message).
func parseShape(text string) shape {
	var sh shape
	words := splitWords(strings.ToLower(text))
	for i, w := range words {
		next := ""
		if i+1 < len(words) {
			next = words[i+1]
		}
		switch w {
		case "list", "lists", "bullet", "bullets", "bulleted", "bullet-point", "bullet-points", "checklist":
			sh.list = true
		case "brief", "briefly", "concise", "concisely", "short", "succinct", "succinctly", "tl;dr", "tldr":
			sh.brief = true
		case "sentence", "sentences":
			if i > 0 {
				if n := number(words[i-1]); n > 0 {
					sh.sentences = n
				} else if words[i-1] == "single" || words[i-1] == "a" && i > 1 && words[i-2] == "in" {
					sh.sentences = 1
				}
			}
		}
		if n := number(w); n > 0 && (next == "words" || next == "word") {
			sh.words = n
		}
	}
	if sh.sentences > 12 {
		sh.sentences = 12
	}
	if sh.words > 2000 {
		sh.words = 2000
	}
	return sh
}

func number(w string) int {
	switch w {
	case "one":
		return 1
	case "two":
		return 2
	case "three":
		return 3
	case "four":
		return 4
	case "five":
		return 5
	case "six":
		return 6
	case "seven":
		return 7
	case "eight":
		return 8
	case "nine":
		return 9
	case "ten":
		return 10
	}
	if n, err := strconv.Atoi(w); err == nil && n > 0 {
		return n
	}
	return 0
}

// splitWords splits s into words of letters, digits, apostrophes, hyphens
// and semicolons inside a word.
func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !isWordRune(r) })
}

// isStopword reports words that make poor keywords: function words,
// question words, vague adjectives and the instruction vocabulary.
func isStopword(w string) bool {
	switch w {
	case "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with",
		"about", "from", "into", "over", "under", "as", "is", "are", "was", "were", "be", "been", "being",
		"do", "does", "did", "doing", "have", "has", "had", "i", "me", "my", "we", "our", "you", "your",
		"he", "she", "it", "its", "they", "them", "their", "this", "that", "these", "those", "there",
		"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "can", "could", "would",
		"should", "will", "shall", "may", "might", "must", "some", "any", "all", "each", "every", "few",
		"more", "most", "other", "such", "no", "not", "only", "own", "same", "so", "than", "too", "very",
		"just", "also", "then", "up", "down", "out", "off", "again", "further", "once", "here", "please",
		"tell", "give", "explain", "describe", "answer", "respond", "reply", "write", "make", "let", "know",
		"want", "need", "like", "get", "use", "using", "recommend", "recommended", "suggest", "suggested",
		"good", "best", "better", "great", "important", "key", "main", "useful", "common", "different",
		"various", "typical", "essential", "sentence", "sentences", "list", "lists", "bullet", "bullets",
		"bulleted", "brief", "briefly", "concise", "concisely", "short", "succinct", "words", "word",
		"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "single", "format",
		"ai", "assistant", "helpful", "acts", "act", "acting", "guide", "i'm", "it's", "what's", "don't",
		"thing", "things", "way", "ways", "lot", "much", "many", "something", "anything", "s", "t":
		return true
	}
	return false
}

// keywords returns the prompt's key phrases: runs of up to three
// consecutive non-stopwords, in order, without repeats.
func keywords(text string, limit int) []string {
	var out, run []string
	flush := func() {
		if len(run) > 3 {
			run = run[len(run)-3:]
		}
		if len(run) > 0 {
			p := strings.Join(run, " ")
			for _, o := range out {
				if strings.EqualFold(o, p) {
					p = ""
					break
				}
			}
			if p != "" && len(out) < limit {
				out = append(out, p)
			}
		}
		run = run[:0]
	}
	text = firstPart(text, 2000)
	sentenceStart := true
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			if r == '.' || r == '?' || r == '!' || r == '\n' {
				sentenceStart = true
			}
			i += n
			continue
		}
		j := i
		for j < len(text) {
			r, n := utf8.DecodeRuneInString(text[j:])
			if !isWordRune(r) {
				break
			}
			j += n
		}
		w := strings.Trim(text[i:j], "'-;")
		first := sentenceStart
		sentenceStart = false
		i = j
		lw := strings.ToLower(w)
		if lw == "" || isStopword(lw) || number(lw) > 0 || !longEnough(w) {
			flush()
			continue
		}
		if first {
			w = plainCase(w)
		}
		run = append(run, w)
	}
	flush()
	return out
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '-' || r == ';'
}

// longEnough keeps words of three letters or more, and two-letter names
// ("Go", "UK").
func longEnough(w string) bool {
	n := utf8.RuneCountInString(w)
	if n >= 3 {
		return true
	}
	r, _ := utf8.DecodeRuneInString(w)
	return n == 2 && unicode.IsUpper(r)
}

// plainCase lowercases a capitalised word ("Camping" -> "camping") but
// keeps acronyms and mixed-case names ("GPS", "iPhone").
func plainCase(w string) string {
	r, n := utf8.DecodeRuneInString(w)
	if unicode.IsUpper(r) && strings.ToLower(w[n:]) == w[n:] {
		return string(unicode.ToLower(r)) + w[n:]
	}
	return w
}

func firstPart(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// topicOf turns the first question of the user message into a noun phrase:
// "What are some recommended supplies for a camping trip in the
// mountains?" -> "recommended supplies for a camping trip in the mountains".
func topicOf(user string) string {
	s := strings.TrimSpace(firstPart(user, 500))
	if i := strings.IndexAny(s, "?.!\n"); i > 0 {
		s = s[:i]
	}
	for changed := true; changed; {
		changed = false
		for _, p := range []string{
			"what are some ", "what are the ", "what are ", "what is the ", "what is a ", "what is ",
			"what's the ", "what's ", "which are the ", "which ", "how do i ", "how do you ", "how can i ",
			"how should i ", "how to ", "how do ", "can you ", "could you ", "would you ", "please ",
			"tell me about ", "tell me ", "explain ", "describe ", "give me ", "list ", "i need ", "i want ",
			"help me with ", "help me ", "write ", "suggest ", "recommend ", "some ", "about ",
			"a list of ", "list of ", "a few ",
		} {
			if hasPrefixFold(s, p) {
				s = s[len(p):]
				changed = true
				break
			}
		}
	}
	if i := strings.IndexAny(s, ",;:("); i >= 0 {
		s = s[:i]
	}
	s = cutInstructions(s)
	s = strings.TrimSpace(strings.TrimRight(s, " ,;:"))
	if len(splitWords(s)) > 14 || s == "" {
		return ""
	}
	if r, n := utf8.DecodeRuneInString(s); unicode.IsUpper(r) {
		if r2, _ := utf8.DecodeRuneInString(s[n:]); !unicode.IsUpper(r2) {
			s = string(unicode.ToLower(r)) + s[n:]
		}
	}
	return s
}

// personaOf finds the role the system message gives the assistant:
// "You are an AI assistant that acts as a travel guide." -> "travel guide".
func personaOf(system string) string {
	low := strings.ToLower(firstPart(system, 2000))
	for _, p := range []string{"acts as a ", "acts as an ", "act as a ", "act as an ", "acting as a ", "acting as an ", "you are a ", "you are an "} {
		i := strings.Index(low, p)
		if i < 0 {
			continue
		}
		rest := low[i+len(p):]
		if j := strings.IndexAny(rest, ".,;:!?\n"); j >= 0 {
			rest = rest[:j]
		}
		ws := strings.Fields(rest)
		if len(ws) == 0 || len(ws) > 4 || ws[0] == "ai" || ws[0] == "helpful" || ws[0] == "assistant" {
			continue
		}
		return strings.Join(ws, " ")
	}
	return ""
}

// aspect is one item of the built-in vocabulary: a bullet label, a short
// noun phrase and a full sentence ({K} is replaced by a keyword).
type aspect struct{ label, short, long string }

func aspects(outdoor bool) []aspect {
	if !outdoor {
		return []aspect{
			{"Fundamentals", "a solid grasp of the fundamentals", "Start with the fundamentals of {K}; most later problems are easier once the basics are clear."},
			{"Practice", "regular hands-on practice", "Practise {K} in small, regular sessions rather than in rare marathons, and build something real early."},
			{"Tools", "a few well-chosen tools", "Pick a few well-supported tools for {K} and learn them well before adding more."},
			{"Common pitfalls", "awareness of common pitfalls", "The most frequent mistake with {K} is underestimating how long things take, so plan generously."},
			{"Trade-offs", "clear priorities", "Decide early what matters most for {K}, because speed, cost and quality often pull in different directions."},
			{"Resources", "trusted references", "Rely on official documentation and a couple of trusted references about {K} instead of scattered snippets."},
			{"Feedback", "early feedback", "Ask for feedback on {K} early; a short review often saves days of rework."},
			{"Measure progress", "a way to measure progress", "Define what success looks like for {K} and check it regularly, so you know when to change course."},
			{"Keep it simple", "the simplest thing that works", "Prefer the simplest approach to {K} that works, and add complexity only when a real need appears."},
			{"Documentation", "short written notes", "Write down decisions and lessons about {K} as you go; future you will be grateful."},
			{"Testing", "a habit of testing assumptions", "Test your assumptions about {K} with small experiments before committing to a large plan."},
			{"Community", "help from the community", "Forums, meetups and colleagues who know {K} are a fast way to get unstuck."},
			{"Safety nets", "a backup plan", "Keep a fallback for {K}, such as backups or a way to roll back, in case something goes wrong."},
			{"Time management", "realistic time estimates", "Break {K} into small steps with realistic estimates and leave buffer time for surprises."},
		}
	}
	return []aspect{
		{"Preparation", "a checklist prepared a few days ahead", "Make a short checklist for {K} a few days ahead, so nothing important is left to the last minute."},
		{"Safety", "a basic first-aid kit", "Keep a basic first-aid kit within reach, know the emergency numbers for the area and tell someone about your plans for {K}."},
		{"Weather and conditions", "weather-appropriate gear", "Check the forecast and local conditions close to the date, because they can quickly change what you need for {K}."},
		{"Comfort", "layered clothing and good footwear", "Layered clothing, comfortable footwear and something warm for the evening make {K} far more enjoyable."},
		{"Navigation", "a reliable map and a charged power bank", "Carry a paper map or an offline map app and a charged power bank, and note a landmark near {K}."},
		{"Food and water", "plenty of water and high-energy snacks", "Bring more water than you expect to drink, a way to purify more, and simple, high-energy food."},
		{"Budget", "a realistic budget", "Set a budget for {K} early and leave a margin for surprises such as fees, repairs or replacements."},
		{"Quality over quantity", "a few reliable essentials", "Choose a few reliable items for {K} rather than many that you may never use."},
		{"Local knowledge", "advice from locals or rangers", "Ask locals, rangers or recent visitors about {K}; they often know about closures, shortcuts and hidden gems."},
		{"Timing", "an early start", "Start early, leave buffer time and plan the most demanding part of {K} for when you are fresh."},
		{"Backup plan", "a backup plan", "Have an alternative in mind in case your plans around {K} do not work out."},
		{"Lighting", "a headlamp with spare batteries", "A headlamp with spare batteries is small, light and invaluable once the sun goes down."},
		{"Documents", "copies of permits and reservations", "Keep copies of permits, reservations and IDs related to {K} both on paper and on your phone."},
		{"Respect the environment", "a leave-no-trace mindset", "Pack out what you bring in and follow the local rules that apply to {K}."},
		{"Common pitfalls", "awareness of common pitfalls", "The most frequent mistake with {K} is underestimating how long things take, so plan generously."},
		{"Trade-offs", "clear priorities", "Decide early what matters most for {K}, because weight, cost and comfort often pull in different directions."},
	}
}

// composer builds one answer.
type composer struct {
	rng     splitmix
	topic   string
	kws     []string
	persona string
	outdoor bool     // travel and outdoor vocabulary
	asp     []aspect // shuffled
	kwNext  int
	b       strings.Builder
}

func (c *composer) kw() string {
	k := c.kws[c.kwNext%len(c.kws)]
	c.kwNext++
	return k
}

func (c *composer) pick(options ...string) string { return options[c.rng.intn(len(options))] }

func (c *composer) fill(t string) string {
	var b strings.Builder
	for len(t) > 0 {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			b.WriteString(t)
			break
		}
		b.WriteString(t[:i])
		t = t[i:]
		switch {
		case strings.HasPrefix(t, "{K}"):
			b.WriteString(c.kw())
			t = t[3:]
		case strings.HasPrefix(t, "{T}"):
			b.WriteString(c.topic)
			t = t[3:]
		default:
			b.WriteByte('{')
			t = t[1:]
		}
	}
	return b.String()
}

func (c *composer) intro() string {
	return c.fill(c.pick(
		"Great question! When it comes to {T}, a little preparation goes a long way.",
		"Here is a practical overview of {T}, based on what tends to matter most.",
		"Planning {T} is easier when you break it into a few clear priorities.",
	))
}

func (c *composer) second() string {
	return c.fill(c.pick(
		"The right choices depend on {K}, {K} and how much flexibility you want to keep.",
		"It helps to think about {K} first and then fill in the details around {K}.",
		"Most of it comes down to {K}, a sensible plan for {K} and a bit of local knowledge.",
	))
}

func (c *composer) essentials(n int) string {
	parts := make([]string, 0, n)
	for i := range min(n, len(c.asp)) {
		parts = append(parts, c.asp[i].short)
	}
	joined := strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	return c.fill(c.pick(
		"For {T}, the essentials are ", "For {T}, focus on ", "To get {T} right, start with ",
	)) + joined + "."
}

func (c *composer) closing() []string {
	return []string{
		c.fill(c.pick(
			"Finally, revisit {K} after you have tried the basics, since the details often become clearer with experience.",
			"With these basics covered, you can spend less time worrying about {K} and more time enjoying it.",
		)),
		c.fill("If you tell me more about {K}, your experience level and your timing, I can tailor these suggestions further."),
	}
}

// compose writes the answer for a prompt (system text, last user text)
// and choice index; the same inputs always give the same text.
func compose(prefix, system, user string, seed uint64, choice int) string {
	c := &composer{rng: splitmix(seed ^ uint64(choice+1)*0x9e3779b97f4a7c15)}
	sh := parseShape(firstPart(system, 4000) + "\n" + firstPart(user, 4000))
	c.kws = keywords(user, 6)
	if len(c.kws) == 0 {
		c.kws = keywords(system, 6)
	}
	if len(c.kws) == 0 {
		c.kws = []string{"the details", "your goals", "the next steps"}
	}
	c.topic = topicOf(user)
	if c.topic == "" {
		if len(c.kws) > 1 {
			c.topic = c.kws[0] + " and " + c.kws[1]
		} else {
			c.topic = c.kws[0]
		}
	}
	c.persona = personaOf(system)
	c.outdoor = isOutdoor(system + " " + user)
	c.asp = aspects(c.outdoor)
	for i := len(c.asp) - 1; i > 0; i-- {
		j := c.rng.intn(i + 1)
		c.asp[i], c.asp[j] = c.asp[j], c.asp[i]
	}
	c.b.WriteString(prefix)
	switch {
	case sh.words > 0:
		c.words(sh.words)
	case sh.sentences > 0:
		for i, s := range c.sentences(sh.sentences) {
			if i > 0 {
				c.b.WriteByte(' ')
			}
			c.b.WriteString(s)
		}
		if sh.list {
			c.shortList(4)
		}
	case sh.list && sh.brief:
		c.b.WriteString(c.fill("Here are a few suggestions for {T}:"))
		c.shortList(4)
	case sh.list:
		c.b.WriteString(c.fill(c.pick("Here are some suggestions for {T}:", "Consider the following for {T}:")))
		c.labelList(6)
	case sh.brief:
		c.b.WriteString(c.intro() + " " + c.essentials(3))
	default:
		c.long()
	}
	return c.b.String()
}

func (c *composer) long() {
	c.b.WriteString(c.intro())
	if c.persona != "" {
		if c.outdoor {
			c.b.WriteString(" As your " + c.persona + ", I'd focus on what keeps you safe, comfortable and free to enjoy the experience.")
		} else {
			c.b.WriteString(" As your " + c.persona + ", I'd focus on what makes the biggest difference in practice.")
		}
	}
	c.b.WriteString(" " + c.second())
	c.b.WriteString("\n\n" + c.pick("Here are the key points to consider:", "Here is what I recommend:", "Consider the following:") + "\n")
	for _, a := range c.asp[:7] {
		c.b.WriteString("\n- **" + a.label + "**: " + c.fill(a.long))
	}
	cl := c.closing()
	c.b.WriteString("\n\n" + cl[0] + " " + cl[1])
}

// sentences returns n sentences of prose, most important first.
func (c *composer) sentences(n int) []string {
	out := []string{}
	if n == 1 {
		return append(out, c.essentials(3))
	}
	out = append(out, c.intro(), c.essentials(3))
	for _, a := range c.asp[3:] {
		out = append(out, c.fill(a.long))
	}
	out = append(out, c.closing()...)
	if n > len(out) {
		n = len(out)
	}
	return out[:n]
}

func (c *composer) shortList(n int) {
	c.b.WriteString("\n")
	for _, a := range c.asp[3 : 3+n] {
		c.b.WriteString("\n- " + upperFirst(a.short))
	}
}

func (c *composer) labelList(n int) {
	c.b.WriteString("\n")
	for _, a := range c.asp[:n] {
		c.b.WriteString("\n- **" + a.label + "**: " + upperFirst(a.short) + ".")
	}
}

// words writes prose of at most n words: whole sentences while they fit,
// else the first sentence cut at n words.
func (c *composer) words(n int) {
	var out []string
	used := 0
	for _, s := range c.sentences(100) {
		ws := strings.Fields(s)
		if used+len(ws) > n {
			if used == 0 {
				out = append(out, strings.TrimRight(strings.Join(ws[:n], " "), ",;:.")+".")
			}
			break
		}
		out = append(out, s)
		used += len(ws)
	}
	c.b.WriteString(strings.Join(out, " "))
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// isOutdoor reports prompts about travel and the outdoors, which get the
// travel vocabulary.
func isOutdoor(text string) bool {
	for _, w := range splitWords(strings.ToLower(firstPart(text, 4000))) {
		switch strings.TrimSuffix(w, "s") {
		case "trip", "travel", "traveling", "travelling", "camping", "camp", "hike", "hiking", "mountain",
			"beach", "vacation", "holiday", "tour", "tourist", "flight", "packing", "backpacking", "outdoor",
			"trail", "road", "island", "city", "citie", "visit", "journey", "itinerary", "guide", "park",
			"forest", "lake", "sea", "ski", "skiing", "climbing", "festival", "hotel", "destination":
			return true
		}
	}
	return false
}

// cutInstructions drops a trailing instruction from a topic:
// "the history of Paris in 40 words" -> "the history of Paris".
func cutInstructions(s string) string {
	for _, p := range []string{" in one sentence", " in a sentence", " in a list", " as a list", " in bullet",
		" briefly", " concisely", " in short", " in brief"} {
		if i := indexFold(s, p); i > 0 {
			s = s[:i]
		}
	}
	ws := strings.Fields(s)
	for i := 0; i+2 < len(ws); i++ {
		if strings.EqualFold(ws[i], "in") && number(strings.ToLower(ws[i+1])) > 0 && hasPrefixFold(ws[i+2], "word") {
			if j := strings.Index(s, " "+ws[i]+" "+ws[i+1]); j > 0 {
				return s[:j]
			}
		}
	}
	return s
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case; prefix is ASCII.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// indexFold is strings.Index ignoring ASCII case; sub is ASCII.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
