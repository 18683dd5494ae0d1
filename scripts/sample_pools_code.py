"""Hand-written code pools for scripts/make_sample_datasets.py (sample chat data, not real datasets).

C snippets are written here with 4-space indentation and turned into tab indentation by
make_sample_datasets.tabify(); Python uses 4 spaces, JavaScript 2 spaces.
Every snippet's printed output is stated in a comment and was checked by running it.
"""

# name -> dict(what=[phrasings of the task], py/c/js=code, explain=..., complexity=...,
#              bug=(buggy python, what goes wrong, the fix in words) or None)
CODE_TASKS = {
    "factorial": dict(
        what=["computes the factorial of a number", "returns n! for a non-negative integer n",
              "calculates the factorial of n"],
        py=r'''
def factorial(n):
    """Return n! for a non-negative integer n."""
    if n < 0:
        raise ValueError("n must be non-negative")
    result = 1
    for i in range(2, n + 1):
        result *= i
    return result


print(factorial(5))  # 120
''',
        c=r'''
#include <stdio.h>

unsigned long long factorial(unsigned int n)
{
    unsigned long long result = 1;
    for (unsigned int i = 2; i <= n; i++)
        result *= i;
    return result;
}

int main(void)
{
    printf("%llu\n", factorial(5)); /* 120 */
    return 0;
}
''',
        js=r'''
function factorial(n) {
  if (n < 0) throw new RangeError("n must be non-negative");
  let result = 1;
  for (let i = 2; i <= n; i++) {
    result *= i;
  }
  return result;
}

console.log(factorial(5)); // 120
''',
        explain="The function multiplies the numbers from 2 up to n. By definition 0! = 1 and 1! = 1, "
                "which is why the result starts at 1 and the loop starts at 2.",
        complexity="It performs n - 1 multiplications, so it runs in O(n) time and O(1) extra memory. "
                   "Keep in mind that factorials grow very quickly: 20! is the largest one that fits in "
                   "a 64-bit unsigned integer.",
        bug=(r'''
def factorial(n):
    result = 1
    for i in range(2, n):
        result *= i
    return result
''', "`range(2, n)` stops before n, so the last factor is missing and `factorial(5)` returns 24 "
     "instead of 120", "use `range(2, n + 1)` so that n itself is included"),
    ),
    "fibonacci": dict(
        what=["returns the n-th Fibonacci number", "computes Fibonacci numbers iteratively",
              "calculates the n-th number of the Fibonacci sequence"],
        py=r'''
def fibonacci(n):
    """Return the n-th Fibonacci number (fibonacci(0) == 0)."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


print([fibonacci(i) for i in range(10)])  # [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
''',
        c=r'''
#include <stdio.h>

unsigned long long fibonacci(unsigned int n)
{
    unsigned long long a = 0, b = 1;
    for (unsigned int i = 0; i < n; i++) {
        unsigned long long next = a + b;
        a = b;
        b = next;
    }
    return a;
}

int main(void)
{
    for (unsigned int i = 0; i < 10; i++)
        printf("%llu ", fibonacci(i));
    printf("\n"); /* 0 1 1 2 3 5 8 13 21 34 */
    return 0;
}
''',
        js=r'''
function fibonacci(n) {
  let a = 0;
  let b = 1;
  for (let i = 0; i < n; i++) {
    [a, b] = [b, a + b];
  }
  return a;
}

console.log(Array.from({ length: 10 }, (_, i) => fibonacci(i)));
// [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
''',
        explain="Instead of calling itself recursively, the function keeps only the last two numbers, "
                "`a` and `b`. Each step moves them forward: the new `a` is the old `b`, and the new `b` "
                "is their sum. After n steps, `a` holds the n-th Fibonacci number.",
        complexity="The loop runs n times, so it takes O(n) time and O(1) memory. That is much faster "
                   "than the naive recursive version, which takes exponential time.",
        bug=(r'''
def fibonacci(n):
    a, b = 0, 1
    for _ in range(n - 1):
        a, b = b, a + b
    return a
''', "the loop runs one step too few, so `fibonacci(10)` returns 34 instead of 55",
     "loop `range(n)` times instead of `range(n - 1)`"),
    ),
    "reverse": dict(
        what=["reverses a string", "returns a string backwards", "reverses the characters of a string"],
        py=r'''
def reverse_string(s):
    """Return s with its characters in reverse order."""
    return s[::-1]


print(reverse_string("hello"))  # olleh
''',
        c=r'''
#include <stdio.h>
#include <string.h>

void reverse_string(char *s)
{
    size_t len = strlen(s);
    if (len < 2)
        return;
    for (size_t i = 0, j = len - 1; i < j; i++, j--) {
        char tmp = s[i];
        s[i] = s[j];
        s[j] = tmp;
    }
}

int main(void)
{
    char word[] = "hello";
    reverse_string(word);
    printf("%s\n", word); /* olleh */
    return 0;
}
''',
        js=r'''
function reverseString(s) {
  // Spread into code points so that emoji and other astral characters stay intact.
  return [...s].reverse().join("");
}

console.log(reverseString("hello")); // "olleh"
''',
        explain="The idea is to walk from both ends toward the middle and swap characters (in C), or to "
                "let the language build the reversed sequence for you (slicing with a step of -1 in "
                "Python, `reverse()` on an array in JavaScript). Note that the C version swaps bytes, so "
                "it is only correct for ASCII text, not for multi-byte UTF-8 characters.",
        complexity="Every character is visited once, so reversing takes O(n) time.",
        bug=None,
    ),
    "is_prime": dict(
        what=["checks whether a number is prime", "tests if an integer is a prime number",
              "returns true when n is prime"],
        py=r'''
def is_prime(n):
    """Return True if n is a prime number."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    i = 3
    while i * i <= n:
        if n % i == 0:
            return False
        i += 2
    return True


print([n for n in range(20) if is_prime(n)])  # [2, 3, 5, 7, 11, 13, 17, 19]
''',
        c=r'''
#include <stdbool.h>
#include <stdio.h>

bool is_prime(unsigned int n)
{
    if (n < 2)
        return false;
    if (n % 2 == 0)
        return n == 2;
    for (unsigned int i = 3; i <= n / i; i += 2) {
        if (n % i == 0)
            return false;
    }
    return true;
}

int main(void)
{
    for (unsigned int n = 0; n < 20; n++) {
        if (is_prime(n))
            printf("%u ", n);
    }
    printf("\n"); /* 2 3 5 7 11 13 17 19 */
    return 0;
}
''',
        js=r'''
function isPrime(n) {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let i = 3; i * i <= n; i += 2) {
    if (n % i === 0) return false;
  }
  return true;
}

console.log([...Array(20).keys()].filter(isPrime)); // [2, 3, 5, 7, 11, 13, 17, 19]
''',
        explain="This is trial division. Numbers below 2 are not prime, and 2 is the only even prime. "
                "For odd n it is enough to test odd divisors up to the square root of n: if n = a × b "
                "with a ≤ b, then a ≤ √n. (The C version writes the bound as `i <= n / i` so that "
                "`i * i` cannot overflow.)",
        complexity="At most about √n / 2 divisions are needed, so the time is O(√n).",
        bug=(r'''
def is_prime(n):
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    i = 3
    while i * i < n:
        if n % i == 0:
            return False
        i += 2
    return True
''', "the loop condition `i * i < n` skips the divisor when n is the square of a prime, so 9, 25 and 49 "
     "are reported as prime", "use `i * i <= n`"),
    ),
    "sum": dict(
        what=["adds up all the numbers in a list", "returns the sum of an array of integers",
              "computes the total of a list of numbers"],
        py=r'''
def total(numbers):
    """Return the sum of a list of numbers."""
    result = 0
    for x in numbers:
        result += x
    return result


print(total([3, 1, 4, 1, 5]))  # 14
''',
        c=r'''
#include <stddef.h>
#include <stdio.h>

long sum_array(const int *values, size_t count)
{
    long total = 0;
    for (size_t i = 0; i < count; i++)
        total += values[i];
    return total;
}

int main(void)
{
    int values[] = {3, 1, 4, 1, 5};
    size_t count = sizeof values / sizeof values[0];
    printf("%ld\n", sum_array(values, count)); /* 14 */
    return 0;
}
''',
        js=r'''
function sum(numbers) {
  return numbers.reduce((acc, x) => acc + x, 0);
}

console.log(sum([3, 1, 4, 1, 5])); // 14
''',
        explain="The function starts from 0 and adds each element in turn. In Python you can also simply "
                "write `sum(numbers)`; in C the length has to be passed separately because an array "
                "parameter is just a pointer.",
        complexity="Each element is added once: O(n) time, O(1) extra memory.",
        bug=(r'''
def total(numbers):
    result = 0
    for i in range(1, len(numbers)):
        result += numbers[i]
    return result
''', "the loop starts at index 1, so the first element is never added and `total([3, 1, 4, 1, 5])` "
     "returns 11 instead of 14", "start at index 0, or better, loop over the values directly"),
    ),
    "max": dict(
        what=["finds the largest element of an array", "returns the maximum value in a list",
              "finds the biggest number in a list"],
        py=r'''
def find_max(values):
    """Return the largest element of a non-empty list."""
    if not values:
        raise ValueError("find_max() of an empty list")
    largest = values[0]
    for v in values[1:]:
        if v > largest:
            largest = v
    return largest


print(find_max([7, 2, 9, 4]))  # 9
''',
        c=r'''
#include <stddef.h>
#include <stdio.h>

/* The caller must pass at least one element. */
int find_max(const int *values, size_t count)
{
    int largest = values[0];
    for (size_t i = 1; i < count; i++) {
        if (values[i] > largest)
            largest = values[i];
    }
    return largest;
}

int main(void)
{
    int values[] = {7, 2, 9, 4};
    printf("%d\n", find_max(values, 4)); /* 9 */
    return 0;
}
''',
        js=r'''
function findMax(values) {
  if (values.length === 0) throw new Error("findMax() of an empty array");
  let largest = values[0];
  for (const v of values) {
    if (v > largest) largest = v;
  }
  return largest;
}

console.log(findMax([7, 2, 9, 4])); // 9
''',
        explain="The function remembers the largest value seen so far, starting with the first element, "
                "and replaces it whenever it meets a bigger one. Starting from the first element (rather "
                "than from 0) keeps it correct for lists that contain only negative numbers.",
        complexity="One pass over the data: O(n) time and O(1) memory.",
        bug=(r'''
def find_max(values):
    largest = 0
    for v in values:
        if v > largest:
            largest = v
    return largest
''', "starting from 0 gives the wrong answer when every value is negative: `find_max([-3, -1, -7])` "
     "returns 0", "start with `largest = values[0]`"),
    ),
    "vowels": dict(
        what=["counts the vowels in a string", "returns how many vowels a text contains",
              "counts the letters a, e, i, o and u in a string"],
        py=r'''
def count_vowels(text):
    """Count the vowels (a, e, i, o, u) in text, ignoring case."""
    return sum(1 for ch in text.lower() if ch in "aeiou")


print(count_vowels("Hello, World!"))  # 3
''',
        c=r'''
#include <ctype.h>
#include <stdio.h>
#include <string.h>

int count_vowels(const char *text)
{
    int count = 0;
    for (; *text != '\0'; text++) {
        if (strchr("aeiou", tolower((unsigned char)*text)) != NULL)
            count++;
    }
    return count;
}

int main(void)
{
    printf("%d\n", count_vowels("Hello, World!")); /* 3 */
    return 0;
}
''',
        js=r'''
function countVowels(text) {
  const matches = text.match(/[aeiou]/gi);
  return matches ? matches.length : 0;
}

console.log(countVowels("Hello, World!")); // 3
''',
        explain="Each character is lower-cased and compared with the five vowels. In \"Hello, World!\" "
                "the vowels are e, o and o, so the answer is 3.",
        complexity="The text is scanned once, so the time is O(n) in the length of the text.",
        bug=None,
    ),
    "fizzbuzz": dict(
        what=["prints FizzBuzz for the numbers 1 to 15", "solves FizzBuzz from 1 to 15",
              "prints Fizz, Buzz or FizzBuzz for 1 through 15"],
        py=r'''
for i in range(1, 16):
    if i % 15 == 0:
        print("FizzBuzz")
    elif i % 3 == 0:
        print("Fizz")
    elif i % 5 == 0:
        print("Buzz")
    else:
        print(i)
''',
        c=r'''
#include <stdio.h>

int main(void)
{
    for (int i = 1; i <= 15; i++) {
        if (i % 15 == 0)
            printf("FizzBuzz\n");
        else if (i % 3 == 0)
            printf("Fizz\n");
        else if (i % 5 == 0)
            printf("Buzz\n");
        else
            printf("%d\n", i);
    }
    return 0;
}
''',
        js=r'''
for (let i = 1; i <= 15; i++) {
  if (i % 15 === 0) console.log("FizzBuzz");
  else if (i % 3 === 0) console.log("Fizz");
  else if (i % 5 === 0) console.log("Buzz");
  else console.log(i);
}
''',
        explain="The order of the checks matters: a number divisible by both 3 and 5 is divisible by 15, "
                "so that case must be tested first. Otherwise 15 would print \"Fizz\" and never reach "
                "the \"FizzBuzz\" branch.",
        complexity="One constant-time check per number, so O(n) for the numbers 1 to n.",
        bug=(r'''
for i in range(1, 16):
    if i % 3 == 0:
        print("Fizz")
    elif i % 5 == 0:
        print("Buzz")
    elif i % 15 == 0:
        print("FizzBuzz")
    else:
        print(i)
''', "15 is divisible by 3, so it prints \"Fizz\" and the \"FizzBuzz\" branch can never run",
     "test `i % 15 == 0` first"),
    ),
    "binary_search": dict(
        what=["performs binary search on a sorted array", "finds the index of a value in a sorted list "
              "using binary search", "searches a sorted array in logarithmic time"],
        py=r'''
def binary_search(items, target):
    """Return the index of target in the sorted list items, or -1."""
    lo, hi = 0, len(items) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if items[mid] == target:
            return mid
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1


print(binary_search([1, 3, 5, 7, 9, 11], 7))  # 3
''',
        c=r'''
#include <stddef.h>
#include <stdio.h>

/* Returns the index of target in the sorted array, or -1 if it is absent. */
long binary_search(const int *items, size_t count, int target)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (items[mid] == target)
            return (long)mid;
        if (items[mid] < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int main(void)
{
    int items[] = {1, 3, 5, 7, 9, 11};
    printf("%ld\n", binary_search(items, 6, 7)); /* 3 */
    return 0;
}
''',
        js=r'''
function binarySearch(items, target) {
  let lo = 0;
  let hi = items.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid] === target) return mid;
    if (items[mid] < target) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

console.log(binarySearch([1, 3, 5, 7, 9, 11], 7)); // 3
''',
        explain="Binary search keeps a window [lo, hi] that must contain the target if it is present. "
                "It looks at the middle element: if that is too small, the target can only be to the "
                "right, otherwise only to the left. Each step halves the window. The C version uses a "
                "half-open window [lo, hi) and computes the midpoint as `lo + (hi - lo) / 2` to avoid "
                "overflow.",
        complexity="The window halves every iteration, so the search takes O(log n) time.",
        bug=(r'''
def binary_search(items, target):
    lo, hi = 0, len(items) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if items[mid] == target:
            return mid
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1
''', "with `while lo < hi` the loop stops while one candidate is still unchecked, so "
     "`binary_search([1, 3, 5, 7, 9, 11], 11)` returns -1", "use `while lo <= hi`"),
    ),
    "gcd": dict(
        what=["computes the greatest common divisor of two numbers", "implements Euclid's algorithm",
              "returns the GCD of two integers"],
        py=r'''
def gcd(a, b):
    """Greatest common divisor by Euclid's algorithm."""
    while b:
        a, b = b, a % b
    return abs(a)


print(gcd(48, 18))  # 6
''',
        c=r'''
#include <stdio.h>

unsigned int gcd(unsigned int a, unsigned int b)
{
    while (b != 0) {
        unsigned int r = a % b;
        a = b;
        b = r;
    }
    return a;
}

int main(void)
{
    printf("%u\n", gcd(48, 18)); /* 6 */
    return 0;
}
''',
        js=r'''
function gcd(a, b) {
  while (b !== 0) {
    [a, b] = [b, a % b];
  }
  return Math.abs(a);
}

console.log(gcd(48, 18)); // 6
''',
        explain="Euclid's algorithm relies on the fact that gcd(a, b) = gcd(b, a mod b). For 48 and 18: "
                "48 mod 18 = 12, 18 mod 12 = 6, 12 mod 6 = 0, so the answer is 6.",
        complexity="The numbers shrink at least as fast as the Fibonacci sequence grows, so the loop "
                   "runs O(log min(a, b)) times.",
        bug=None,
    ),
    "palindrome": dict(
        what=["checks whether a string is a palindrome", "tests if a phrase reads the same backwards, "
              "ignoring case and punctuation", "detects palindromes"],
        py=r'''
def is_palindrome(text):
    """True if text reads the same backwards, ignoring case and punctuation."""
    cleaned = [ch.lower() for ch in text if ch.isalnum()]
    return cleaned == cleaned[::-1]


print(is_palindrome("A man, a plan, a canal: Panama"))  # True
''',
        c=r'''
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

bool is_palindrome(const char *text)
{
    size_t i = 0, j = strlen(text);
    while (i < j) {
        if (!isalnum((unsigned char)text[i])) {
            i++;
        } else if (!isalnum((unsigned char)text[j - 1])) {
            j--;
        } else {
            if (tolower((unsigned char)text[i]) != tolower((unsigned char)text[j - 1]))
                return false;
            i++;
            j--;
        }
    }
    return true;
}

int main(void)
{
    printf("%d\n", is_palindrome("A man, a plan, a canal: Panama")); /* 1 */
    return 0;
}
''',
        js=r'''
function isPalindrome(text) {
  const cleaned = text.toLowerCase().replace(/[^a-z0-9]/g, "");
  return cleaned === [...cleaned].reverse().join("");
}

console.log(isPalindrome("A man, a plan, a canal: Panama")); // true
''',
        explain="First the text is reduced to its letters and digits in lower case, so \"A man, a plan, "
                "a canal: Panama\" becomes \"amanaplanacanalpanama\". Then it is compared with its own "
                "reverse. The C version does the same without a copy, using two indices that move "
                "toward each other and skip punctuation.",
        complexity="Both versions look at each character a constant number of times: O(n) time.",
        bug=None,
    ),
    "celsius": dict(
        what=["converts Celsius to Fahrenheit", "turns a temperature in °C into °F",
              "converts degrees Celsius to degrees Fahrenheit"],
        py=r'''
def celsius_to_fahrenheit(celsius):
    """Convert a temperature from degrees Celsius to degrees Fahrenheit."""
    return celsius * 9 / 5 + 32


for c in (-40, 0, 37, 100):
    print(f"{c} °C = {celsius_to_fahrenheit(c):.1f} °F")
# -40 °C = -40.0 °F, 0 °C = 32.0 °F, 37 °C = 98.6 °F, 100 °C = 212.0 °F
''',
        c=r'''
#include <stdio.h>

double celsius_to_fahrenheit(double celsius)
{
    return celsius * 9.0 / 5.0 + 32.0;
}

int main(void)
{
    const double temps[] = {-40.0, 0.0, 37.0, 100.0};
    for (int i = 0; i < 4; i++)
        printf("%.1f C = %.1f F\n", temps[i], celsius_to_fahrenheit(temps[i]));
    return 0;
}
''',
        js=r'''
const celsiusToFahrenheit = (celsius) => (celsius * 9) / 5 + 32;

for (const c of [-40, 0, 37, 100]) {
  console.log(`${c} °C = ${celsiusToFahrenheit(c).toFixed(1)} °F`);
}
''',
        explain="The formula is F = C × 9/5 + 32: a Celsius degree is 1.8 times larger than a Fahrenheit "
                "degree, and the scales are offset by 32 (water freezes at 0 °C = 32 °F). A nice check "
                "is that -40 °C equals -40 °F.",
        complexity="It is a single arithmetic expression, so it runs in constant time, O(1).",
        bug=(r'''
def celsius_to_fahrenheit(celsius):
    return celsius * 5 / 9 + 32
''', "the ratio is upside down, so 100 °C comes out as about 87.6 °F instead of 212 °F",
     "multiply by 9/5, not 5/9"),
    ),
    "word_count": dict(
        what=["counts the words in a string", "returns the number of whitespace-separated words in a text",
              "counts how many words a sentence has"],
        py=r'''
def count_words(text):
    """Count whitespace-separated words in text."""
    return len(text.split())


print(count_words("  The quick brown\tfox  jumps\n"))  # 5
''',
        c=r'''
#include <ctype.h>
#include <stdio.h>

int count_words(const char *text)
{
    int count = 0;
    int in_word = 0;
    for (; *text != '\0'; text++) {
        if (isspace((unsigned char)*text)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            count++;
        }
    }
    return count;
}

int main(void)
{
    printf("%d\n", count_words("  The quick brown\tfox  jumps\n")); /* 5 */
    return 0;
}
''',
        js=r'''
function countWords(text) {
  const words = text.trim().split(/\s+/);
  return words[0] === "" ? 0 : words.length;
}

console.log(countWords("  The quick brown\tfox  jumps\n")); // 5
''',
        explain="A word is a maximal run of non-whitespace characters. Python's `str.split()` with no "
                "argument already splits on any run of spaces, tabs and newlines; the C version counts "
                "the places where a word starts, that is, a non-space character after a space or at the "
                "beginning.",
        complexity="The text is read once: O(n) time.",
        bug=(r'''
def count_words(text):
    return len(text.split(" "))
''', "splitting on a single space produces empty strings for repeated spaces and does not split on tabs "
     "or newlines, so the example returns 7 instead of 5", "call `text.split()` with no argument"),
    ),
    "bubble_sort": dict(
        what=["sorts a list with bubble sort", "implements bubble sort", "sorts an array of integers using "
              "bubble sort"],
        py=r'''
def bubble_sort(items):
    """Sort a list in place using bubble sort and return it."""
    n = len(items)
    for end in range(n - 1, 0, -1):
        swapped = False
        for i in range(end):
            if items[i] > items[i + 1]:
                items[i], items[i + 1] = items[i + 1], items[i]
                swapped = True
        if not swapped:
            break
    return items


print(bubble_sort([5, 2, 9, 1, 5, 6]))  # [1, 2, 5, 5, 6, 9]
''',
        c=r'''
#include <stddef.h>
#include <stdio.h>

void bubble_sort(int *items, size_t count)
{
    for (size_t end = count; end > 1; end--) {
        int swapped = 0;
        for (size_t i = 0; i + 1 < end; i++) {
            if (items[i] > items[i + 1]) {
                int tmp = items[i];
                items[i] = items[i + 1];
                items[i + 1] = tmp;
                swapped = 1;
            }
        }
        if (!swapped)
            break;
    }
}

int main(void)
{
    int items[] = {5, 2, 9, 1, 5, 6};
    bubble_sort(items, 6);
    for (int i = 0; i < 6; i++)
        printf("%d ", items[i]);
    printf("\n"); /* 1 2 5 5 6 9 */
    return 0;
}
''',
        js=r'''
function bubbleSort(items) {
  for (let end = items.length - 1; end > 0; end--) {
    let swapped = false;
    for (let i = 0; i < end; i++) {
      if (items[i] > items[i + 1]) {
        [items[i], items[i + 1]] = [items[i + 1], items[i]];
        swapped = true;
      }
    }
    if (!swapped) break;
  }
  return items;
}

console.log(bubbleSort([5, 2, 9, 1, 5, 6])); // [1, 2, 5, 5, 6, 9]
''',
        explain="Each pass walks through the unsorted part and swaps neighbours that are out of order, "
                "so the largest remaining value \"bubbles up\" to the end. If a whole pass makes no swap, "
                "the list is already sorted and the loop stops early.",
        complexity="In the worst case it makes about n²/2 comparisons, so it is O(n²); on an already "
                   "sorted list the early exit makes it O(n). For real programs prefer the built-in sort "
                   "(`sorted()` in Python, `qsort()` in C, `Array.prototype.sort` in JavaScript).",
        bug=None,
    ),
}

LANG_NAMES = {"py": "Python", "c": "C", "js": "JavaScript"}
LANG_FENCE = {"py": "python", "c": "c", "js": "javascript"}

# Hand-written snippets in other languages / tools: (prompt, answer); tabs written as \t.
MISC_CODE = [
    ("Write a simple Makefile that builds hello.c into a program called hello and has a clean target.",
     "Here is a minimal Makefile:\n\n```make\nCC = cc\nCFLAGS = -O2 -Wall -Wextra\n\nhello: hello.c\n"
     "\t$(CC) $(CFLAGS) -o hello hello.c\n\nclean:\n\trm -f hello\n\n.PHONY: clean\n```\n\n"
     "A few things to keep in mind:\n\n- The command lines under a target **must start with a tab "
     "character**, not spaces; otherwise `make` reports \"missing separator\".\n- `hello: hello.c` means "
     "the program is rebuilt only when `hello.c` is newer than `hello`.\n- `.PHONY: clean` tells make that "
     "`clean` is not a file name.\n\nRun `make` to build and `make clean` to remove the program."),
    ("How do I loop over all .txt files in a directory in bash and print their line counts?",
     "You can use a `for` loop with a glob:\n\n```bash\n#!/usr/bin/env bash\nshopt -s nullglob\n\n"
     "for file in *.txt; do\n    lines=$(wc -l < \"$file\")\n    printf '%s: %d lines\\n' \"$file\" \"$lines\"\n"
     "done\n```\n\n- `shopt -s nullglob` makes the loop run zero times when there are no `.txt` files "
     "(otherwise it would run once with the literal string `*.txt`).\n- Quoting `\"$file\"` keeps file "
     "names with spaces intact.\n- `wc -l < \"$file\"` prints only the number, without the file name.\n\n"
     "If you just want the numbers, `wc -l *.txt` does it in one command."),
    ("Write an SQL query that lists the five customers who spent the most, given tables customers(id, name) "
     "and orders(id, customer_id, amount).",
     "Here is one way to do it:\n\n```sql\nSELECT c.id,\n       c.name,\n       SUM(o.amount) AS total_spent\n"
     "FROM customers AS c\nJOIN orders AS o ON o.customer_id = c.id\nGROUP BY c.id, c.name\n"
     "ORDER BY total_spent DESC\nLIMIT 5;\n```\n\nHow it works:\n\n1. `JOIN` pairs every order with its "
     "customer.\n2. `GROUP BY` collects the orders of each customer, and `SUM(o.amount)` adds them up.\n"
     "3. `ORDER BY total_spent DESC` puts the biggest spenders first, and `LIMIT 5` keeps the top five.\n\n"
     "Customers without any orders are left out; use a `LEFT JOIN` and `COALESCE(SUM(o.amount), 0)` if "
     "you want to include them."),
    ("Can you give me a minimal HTML page with a heading and a button that shows an alert?",
     "Sure! Save this as `index.html` and open it in a browser:\n\n```html\n<!DOCTYPE html>\n<html lang=\"en\">\n"
     "<head>\n  <meta charset=\"utf-8\">\n  <title>Hello</title>\n</head>\n<body>\n  <h1>Hello, world!</h1>\n"
     "  <button id=\"greet\">Click me</button>\n  <script>\n    document.getElementById(\"greet\")\n"
     "      .addEventListener(\"click\", () => alert(\"Hi there! 👋\"));\n  </script>\n</body>\n</html>\n```\n\n"
     "The `<meta charset=\"utf-8\">` line makes sure characters such as the 👋 emoji display correctly, and "
     "the script attaches a click handler to the button by its `id`."),
    ("What does the regular expression ^\\d{3}-\\d{4}$ match?",
     "It matches a string that consists of exactly three digits, a hyphen, and four digits, such as "
     "`555-1234`.\n\n| Part | Meaning |\n|------|---------|\n| `^` | start of the string |\n| `\\d{3}` | "
     "exactly three digits |\n| `-` | a literal hyphen |\n| `\\d{4}` | exactly four digits |\n| `$` | end of "
     "the string |\n\nBecause of the anchors `^` and `$`, a longer string like `call 555-1234 now` does "
     "**not** match. Note that in some engines `\\d` also matches non-ASCII digits such as `٣`; use "
     "`[0-9]` if you need ASCII digits only."),
    ("How do I read a JSON file in Python and print one of its fields?",
     "Use the built-in `json` module:\n\n```python\nimport json\n\nwith open(\"config.json\", encoding=\"utf-8\") "
     "as f:\n    config = json.load(f)\n\nprint(config[\"name\"])\nprint(config.get(\"version\", \"unknown\"))\n```\n\n"
     "- `json.load` turns the file into Python objects: objects become dictionaries, arrays become lists.\n"
     "- Passing `encoding=\"utf-8\"` avoids surprises on systems with a different default encoding.\n"
     "- `config.get(\"version\", \"unknown\")` returns a default instead of raising `KeyError` when the "
     "field is missing."),
    ("Explain what this C code prints:\n\n```c\n#include <stdio.h>\n\nint main(void)\n{\n\tint x = 5;\n"
     "\tint *p = &x;\n\t*p += 2;\n\tprintf(\"%d\\n\", x);\n\treturn 0;\n}\n```",
     "It prints `7`.\n\n1. `int x = 5;` creates a variable holding 5.\n2. `int *p = &x;` makes `p` point to "
     "`x`.\n3. `*p += 2;` adds 2 to the variable that `p` points to, which is `x` itself.\n4. So `x` is now "
     "7, and `printf(\"%d\\n\", x)` prints `7` followed by a newline."),
    ("Write a JavaScript function that waits for a given number of milliseconds using a Promise.",
     "Here is a small `sleep` helper:\n\n```javascript\nfunction sleep(ms) {\n  return new Promise((resolve) => "
     "setTimeout(resolve, ms));\n}\n\nasync function main() {\n  console.log(\"Waiting...\");\n  await sleep(1000);\n"
     "  console.log(\"One second later!\");\n}\n\nmain();\n```\n\n`setTimeout` calls `resolve` after `ms` "
     "milliseconds, which completes the promise; `await` pauses the async function until then without "
     "blocking the rest of the program."),
    ("In Python, what is the difference between a list and a tuple?",
     "Both are ordered sequences, but they differ in a few important ways:\n\n| | list | tuple |\n|---|---|---|\n"
     "| Syntax | `[1, 2, 3]` | `(1, 2, 3)` |\n| Mutable? | yes: you can append, remove, change items | no: "
     "fixed after creation |\n| Hashable? | no | yes, if its items are hashable |\n| Typical use | a "
     "collection of similar items that changes | a fixed record, like `(x, y)` coordinates |\n\nBecause "
     "tuples are hashable, they can be used as dictionary keys:\n\n```python\ndistances = {(0, 0): 0.0, "
     "(3, 4): 5.0}\nprint(distances[(3, 4)])  # 5.0\n```"),
    ("Write a C function that swaps two integers using pointers.",
     "Here it is:\n\n```c\n#include <stdio.h>\n\nvoid swap(int *a, int *b)\n{\n\tint tmp = *a;\n\t*a = *b;\n"
     "\t*b = tmp;\n}\n\nint main(void)\n{\n\tint x = 1, y = 2;\n\tswap(&x, &y);\n\tprintf(\"x = %d, y = %d\\n\", "
     "x, y); /* x = 2, y = 1 */\n\treturn 0;\n}\n```\n\nC passes arguments by value, so a function that "
     "received `int a, int b` would only swap its own copies. Passing the addresses `&x` and `&y` lets "
     "`swap` change the caller's variables through the pointers."),
]
