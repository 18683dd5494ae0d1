"""Hand-written text pools for scripts/make_sample_datasets.py (sample chat data, not real datasets)."""

# ---------------------------------------------------------------------------------------------
# Explanations: key -> dict(q=[phrasings], a=answer (markdown), short=one-sentence summary,
#                           simple=explanation for a child)
SCIENCE = {
    "sky": dict(
        q=["Why is the sky blue?", "Can you explain why the sky looks blue during the day?",
           "What makes the sky blue?"],
        a="The sky looks blue because of a process called **Rayleigh scattering**.\n\n"
          "1. Sunlight contains all the colors of the rainbow, each with a different wavelength.\n"
          "2. When sunlight enters the atmosphere, it bumps into nitrogen and oxygen molecules that are much "
          "smaller than the wavelength of light.\n"
          "3. Such small particles scatter short wavelengths far more strongly than long ones (roughly in "
          "proportion to 1/λ⁴), so blue light is scattered in every direction across the sky, while red and "
          "yellow light mostly passes straight through.\n\n"
          "When you look at any part of the sky away from the Sun, you see this scattered blue light. "
          "Violet is scattered even more, but sunlight contains less violet and our eyes are less sensitive "
          "to it, so the sky looks blue rather than purple. At sunrise and sunset the light travels through "
          "much more air, most of the blue is scattered away before it reaches you, and the sky turns "
          "orange and red.",
        short="Air molecules scatter blue sunlight much more than red light, so scattered blue light reaches "
              "our eyes from every direction in the sky.",
        simple="Sunlight is made of many colors mixed together. When it flies through the air, the tiny bits "
               "of air bounce the blue part around everywhere, like a ball in a pinball machine. So wherever "
               "you look up, some bouncing blue light comes to your eyes, and the sky looks blue!"),
    "seasons": dict(
        q=["What causes the seasons?", "Why do we have summer and winter?",
           "Is summer warmer because the Earth is closer to the Sun?"],
        a="The seasons are caused by the **tilt of Earth's axis**, not by changes in our distance from the "
          "Sun.\n\nEarth's axis is tilted by about 23.4° relative to its orbit. As Earth travels around the "
          "Sun over a year, the tilt stays pointed in the same direction in space, so:\n\n"
          "- When the Northern Hemisphere is tilted **toward** the Sun, sunlight hits it more directly and "
          "the days are longer. That is northern summer.\n"
          "- Six months later it is tilted **away** from the Sun: the light arrives at a low angle, spreads "
          "over a larger area, and days are short. That is northern winter.\n\n"
          "The Southern Hemisphere has the opposite seasons at the same time. In fact, Earth is closest to "
          "the Sun in early January, during the northern winter, which shows that distance is not the cause.",
        short="Seasons happen because Earth's axis is tilted, so each hemisphere takes turns receiving more "
              "direct sunlight and longer days.",
        simple="The Earth is a little bit tipped over, like a spinning top that leans. As it goes around the "
               "Sun, sometimes our half leans toward the Sun and gets lots of warm sunshine: that's summer. "
               "Later our half leans away and gets less sunshine: that's winter."),
    "photosynthesis": dict(
        q=["How does photosynthesis work?", "Can you explain photosynthesis in simple terms?",
           "What happens during photosynthesis?"],
        a="Photosynthesis is the process plants, algae and some bacteria use to turn light energy into "
          "chemical energy stored in sugar.\n\n**Ingredients:** carbon dioxide from the air, water from the "
          "soil, and light.\n\n**Where it happens:** in chloroplasts, which contain the green pigment "
          "chlorophyll.\n\n**The two stages:**\n\n1. *Light-dependent reactions.* Chlorophyll absorbs light. "
          "The energy splits water molecules, releasing oxygen, and is stored in the carrier molecules ATP "
          "and NADPH.\n2. *The Calvin cycle.* Using ATP and NADPH, the plant fixes carbon dioxide into "
          "sugars such as glucose.\n\nOverall: 6 CO₂ + 6 H₂O + light → C₆H₁₂O₆ + 6 O₂.\n\nAlmost all the "
          "oxygen we breathe and, directly or indirectly, most of the food we eat come from this process.",
        short="Plants use light energy to turn carbon dioxide and water into sugar, releasing oxygen as a "
              "by-product.",
        simple="Plants make their own food! Their green leaves catch sunlight, drink water through the roots, "
               "and breathe in a gas from the air. They mix these together to make sugar to grow, and they "
               "breathe out the oxygen that we need."),
    "water_cycle": dict(
        q=["Explain the water cycle.", "How does the water cycle work?", "What are the steps of the water cycle?"],
        a="The water cycle describes how water moves continuously between the oceans, the air and the land. "
          "It is driven by the Sun's heat and by gravity.\n\n1. **Evaporation:** the Sun warms oceans, lakes "
          "and rivers, and water turns into vapor. Plants also release vapor through their leaves "
          "(transpiration).\n2. **Condensation:** as the vapor rises, it cools and condenses into tiny "
          "droplets that form clouds.\n3. **Precipitation:** when droplets grow heavy enough, they fall as "
          "rain, snow, sleet or hail.\n4. **Collection:** the water flows into rivers, soaks into the ground "
          "to become groundwater, or is stored in glaciers, and eventually returns to the sea.\n\nThen the "
          "cycle starts again. The total amount of water on Earth stays almost the same; it just keeps "
          "changing place and form.",
        short="Water evaporates, condenses into clouds, falls as precipitation and flows back to the sea, "
              "over and over, powered by the Sun.",
        simple="The Sun warms up water in the sea so it floats up into the sky as invisible vapor. Up high "
               "it gets cold and turns into clouds. When the clouds get too full, the water falls down as "
               "rain, runs into rivers and goes back to the sea. Then it starts all over again!"),
    "vaccines": dict(
        q=["How do vaccines work?", "Can you explain how a vaccine protects you?", "What does a vaccine do in "
           "the body?"],
        a="A vaccine trains your immune system to recognize a germ **before** you meet the real thing.\n\n"
          "1. The vaccine contains a harmless piece or version of a pathogen: a weakened or inactivated "
          "virus, a single protein, or instructions (such as mRNA) that let your cells make that protein "
          "briefly.\n2. Your immune system notices this unfamiliar material and responds: B cells make "
          "antibodies that fit it, and T cells learn to recognize it.\n3. Some of these cells become "
          "long-lived **memory cells**.\n4. If you are later exposed to the real pathogen, the memory cells "
          "react quickly and strongly, often stopping the infection before you get seriously ill.\n\n"
          "When enough people in a community are immune, a disease also has a harder time spreading, which "
          "protects people who cannot be vaccinated.",
        short="Vaccines show the immune system a harmless piece of a germ so that it remembers it and can "
              "fight the real germ quickly later.",
        simple="A vaccine is like showing your body a \"wanted\" poster of a germ. Your body studies the "
               "picture and remembers it. If the real germ ever shows up, your body recognizes it right away "
               "and chases it out before it can make you very sick."),
    "dna": dict(
        q=["What is DNA?", "Can you explain what DNA does?", "What is DNA made of?"],
        a="DNA (deoxyribonucleic acid) is the molecule that stores the genetic instructions of living "
          "things.\n\n**Structure.** DNA is a double helix: two long strands twisted around each other. "
          "Each strand is a chain of nucleotides, and each nucleotide carries one of four bases: adenine "
          "(A), thymine (T), guanine (G) and cytosine (C). The strands are held together by base pairs: A "
          "always pairs with T, and G with C.\n\n**Function.** The order of the bases is a code. A gene is a "
          "stretch of DNA whose sequence is copied into RNA and then translated into a protein, three bases "
          "(one codon) per amino acid. Proteins do most of the work in cells.\n\n**Copying.** Because each "
          "base has exactly one partner, each strand can serve as a template to rebuild the other. This is "
          "how DNA is copied when a cell divides.",
        short="DNA is a double-stranded molecule whose sequence of four bases (A, T, G, C) encodes the "
              "instructions for building proteins.",
        simple="DNA is like a giant recipe book inside every cell of your body. It is written with only four "
               "letters, A, T, G and C, and it tells your body how to grow and work, like what color your "
               "eyes should be."),
    "ice": dict(
        q=["Why does ice float on water?", "Why is ice less dense than liquid water?",
           "How come ice cubes float?"],
        a="Ice floats because it is **less dense** than liquid water, which is unusual: most substances are "
          "denser as solids.\n\nWater molecules are attracted to each other by hydrogen bonds. In liquid "
          "water these bonds constantly break and re-form, so the molecules can pack fairly closely. When "
          "water freezes, every molecule locks into hydrogen bonds with four neighbours, forming an open "
          "hexagonal crystal with a lot of empty space. As a result, ice is about 9% less dense than liquid "
          "water (about 0.92 g/cm³ versus 1.00 g/cm³).\n\nThis matters for life: lakes freeze from the top "
          "down, and the layer of ice insulates the water below so fish can survive the winter.",
        short="When water freezes, hydrogen bonds lock its molecules into an open crystal, so ice is less "
              "dense than liquid water and floats.",
        simple="When water turns into ice, its tiny pieces hold hands in a big roomy pattern with lots of "
               "space in between. That makes ice lighter than the same amount of water, so it floats on top, "
               "just like a beach ball in a pool."),
    "boiling_altitude": dict(
        q=["Why does water boil at a lower temperature on a mountain?", "Does water boil at 100 °C everywhere?"],
        a="Water boils when its vapor pressure equals the pressure of the air above it.\n\nAt sea level, air "
          "pressure is about 101.3 kPa, and water reaches that vapor pressure at 100 °C. Higher up there is "
          "less air above you, so the pressure is lower and water reaches it at a lower temperature. For "
          "example:\n\n| Altitude | Approximate boiling point |\n|---|---|\n| sea level | 100 °C |\n"
          "| 1,500 m | 95 °C |\n| 3,000 m | 90 °C |\n| 8,849 m (top of Everest) | about 70 °C |\n\n"
          "That is why pasta and eggs take longer to cook in the mountains, and why pressure cookers, which "
          "raise the pressure, cook food faster.",
        short="Water boils when its vapor pressure matches the air pressure, and because air pressure is "
              "lower at altitude, it boils at a lower temperature.",
        simple="Air is always pressing down on the water in a pot. On a high mountain there is less air "
               "pressing down, so the water can start bubbling before it gets as hot. That's why cooking "
               "takes longer up there."),
    "rainbow": dict(
        q=["How do rainbows form?", "What causes a rainbow?", "Why are rainbows curved?"],
        a="A rainbow forms when sunlight is **refracted, reflected and dispersed** inside raindrops.\n\n"
          "1. Light enters a spherical raindrop and bends (refraction). Different colors bend by slightly "
          "different amounts, so the white light starts to spread out into colors (dispersion).\n2. The "
          "light reflects off the back of the drop.\n3. It bends again as it leaves the drop.\n\nThe light "
          "comes back out at an angle of about 42° for red and 40° for violet relative to the direction "
          "opposite the Sun. Every drop that sits at that angle from your eye sends you its color, and the "
          "set of all such points forms a circle around the point directly opposite the Sun. The ground "
          "usually hides the lower part, so we see an arc. That is also why you only see a rainbow with the "
          "Sun behind you.",
        short="Raindrops bend, reflect and split sunlight into its colors, sending each color back at a fixed "
              "angle of about 40-42°, which forms a circular arc.",
        simple="Each raindrop works like a tiny prism. When sunshine goes into a drop, it bends and splits "
               "into all its colors, then bounces back out to your eyes. Millions of drops together paint a "
               "big colorful arch in the sky."),
    "tides": dict(
        q=["What causes ocean tides?", "Why are there two high tides a day?"],
        a="Tides are caused mainly by the **Moon's gravity**, with a smaller contribution from the Sun.\n\n"
          "The Moon pulls harder on the side of Earth facing it than on Earth's center, and harder on the "
          "center than on the far side. This difference in pull, called the tidal force, stretches the "
          "oceans into two bulges: one facing the Moon and one on the opposite side.\n\nAs Earth rotates "
          "once a day beneath these bulges, most coastlines pass through both of them, which gives about two "
          "high tides and two low tides every 24 hours and 50 minutes (the extra 50 minutes is because the "
          "Moon moves along its orbit).\n\nWhen the Sun and Moon line up (new and full moon), their effects "
          "add up and we get larger **spring tides**; when they are at right angles, we get smaller **neap "
          "tides**.",
        short="The Moon's gravity pulls unevenly on Earth, creating two ocean bulges that coastlines pass "
              "through as Earth rotates.",
        simple="The Moon gently pulls on the oceans, making the water pile up a little on one side of the "
               "Earth and also on the other side. As the Earth spins, the beach moves into a pile of water "
               "(high tide) and then out of it (low tide)."),
    "gravity": dict(
        q=["What is gravity?", "Why do things fall down?", "Can you explain gravity?"],
        a="Gravity is the attraction between objects that have mass or energy.\n\n**Newton's view.** Every "
          "mass attracts every other mass with a force F = G·m₁·m₂ / r², where r is the distance between "
          "them and G ≈ 6.674 × 10⁻¹¹ N·m²/kg². Doubling the distance makes the force four times weaker.\n\n"
          "**Einstein's view.** General relativity describes gravity not as a force but as the curvature of "
          "spacetime caused by mass and energy. Objects in free fall simply follow the straightest possible "
          "paths through this curved spacetime.\n\nNear Earth's surface, gravity accelerates falling objects "
          "at about 9.8 m/s², regardless of their mass (if air resistance is ignored). Gravity keeps the Moon "
          "in orbit around Earth and Earth in orbit around the Sun.",
        short="Gravity is the attraction between masses, which Newton described as a force and Einstein as "
              "the curving of spacetime.",
        simple="Everything that has stuff in it pulls on everything else a little bit. The Earth is so big "
               "that its pull is strong, so when you drop a ball, the Earth pulls it down to the ground."),
    "compass": dict(
        q=["How does a compass work?", "Why does a compass needle point north?"],
        a="A compass works because Earth behaves like a giant magnet.\n\n- Molten iron moving in Earth's "
          "outer core generates a magnetic field that runs roughly from the south of the planet to the "
          "north.\n- A compass needle is a small, light magnet that can spin freely. Like any magnet, it "
          "lines up with the magnetic field around it, so its north-seeking end points toward Earth's north "
          "**magnetic** pole.\n\nThe magnetic pole is not exactly at the geographic North Pole, and it "
          "slowly moves. The angle between magnetic north and true north at a given place is called "
          "*magnetic declination*; maps for navigation list it so you can correct your readings.",
        short="A compass needle is a tiny magnet that lines up with Earth's magnetic field and points toward "
              "the magnetic north pole.",
        simple="The Earth is like a giant, invisible magnet. The needle in a compass is a tiny magnet too, "
               "and it likes to turn so that it lines up with the big Earth magnet. That makes it point "
               "north."),
    "weather_climate": dict(
        q=["What is the difference between weather and climate?", "Are weather and climate the same thing?"],
        a="They describe the same things (temperature, rain, wind, humidity) but over very different time "
          "scales.\n\n| | Weather | Climate |\n|---|---|---|\n| Time scale | hours to days | decades (usually "
          "averaged over 30 years) |\n| Question it answers | \"Do I need an umbrella today?\" | \"How much "
          "rain does this region usually get in April?\" |\n| Example | \"It is 14 °C and raining in Lisbon "
          "this morning.\" | \"Lisbon has mild, wet winters and hot, dry summers.\" |\n\nA handy way to "
          "remember it: climate is what you expect, weather is what you get. One cold week does not disprove "
          "a warming climate, just as one sunny day does not make a desert.",
        short="Weather is the short-term state of the atmosphere, while climate is the long-term average of "
              "weather in a place.",
        simple="Weather is what it's like outside today: sunny, rainy or snowy. Climate is what it is usually "
               "like in a place over many, many years, like \"summers here are hot\"."),
    "atom": dict(
        q=["What is an atom?", "What are atoms made of?"],
        a="An atom is the smallest unit of a chemical element that still has that element's properties.\n\n"
          "**Parts of an atom:**\n\n- **Protons:** positively charged particles in the nucleus. Their number, "
          "the *atomic number*, decides which element it is (1 for hydrogen, 6 for carbon, 8 for oxygen).\n"
          "- **Neutrons:** neutral particles, also in the nucleus. Atoms of the same element with different "
          "numbers of neutrons are called isotopes.\n- **Electrons:** light, negatively charged particles "
          "that occupy regions around the nucleus called orbitals. They determine how the atom bonds with "
          "others.\n\nAtoms are tiny: about 0.1 nanometers across, and almost all of that is empty space. The "
          "nucleus is roughly 100,000 times smaller than the atom but holds more than 99.9% of its mass.",
        short="An atom is the smallest unit of an element, made of a nucleus of protons and neutrons "
              "surrounded by electrons.",
        simple="Everything around you is built from super tiny building blocks called atoms, much too small "
               "to see. Each atom has a tiny center with even tinier bits whizzing around it."),
    "inflation": dict(
        q=["What is inflation?", "Can you explain inflation in economics?", "Why do prices go up over time?"],
        a="Inflation is the general rise in prices across an economy over time, which means each unit of "
          "money buys less than before.\n\n**How it is measured.** Statistics offices track the price of a "
          "typical basket of goods and services (food, rent, transport, and so on). If the basket costs "
          "€100 this year and €103 next year, inflation is 3%.\n\n**Common causes:**\n\n1. *Demand-pull:* "
          "people and businesses want to buy more than the economy can produce.\n2. *Cost-push:* production "
          "costs such as energy or wages rise and are passed on to prices.\n3. *Expectations:* if everyone "
          "expects prices to rise, they ask for higher wages and set higher prices, which makes it happen.\n\n"
          "Many central banks aim for low, stable inflation of about 2% a year, mainly by raising interest "
          "rates when inflation is too high and lowering them when it is too low.",
        short="Inflation is the general increase in prices over time, which reduces what a given amount of "
              "money can buy.",
        simple="Inflation means things slowly get more expensive. If a candy costs 1 coin today and 2 coins "
               "in a few years, your coins can buy less candy than before."),
    "heart": dict(
        q=["How does the human heart pump blood?", "How does the heart work?"],
        a="The heart is a muscular pump with **four chambers**: two atria on top and two ventricles below.\n\n"
          "1. Blood low in oxygen returns from the body into the **right atrium**, then passes to the **right "
          "ventricle**.\n2. The right ventricle pumps it to the **lungs**, where it releases carbon dioxide "
          "and picks up oxygen.\n3. Oxygen-rich blood returns to the **left atrium** and flows into the "
          "**left ventricle**.\n4. The left ventricle, the strongest chamber, pumps it through the aorta to "
          "the rest of the body.\n\nValves between the chambers act like one-way doors so blood cannot flow "
          "backwards; their closing makes the familiar \"lub-dub\" sound. Each beat is triggered by an "
          "electrical signal from the heart's natural pacemaker, the sinoatrial node. At rest an adult heart "
          "beats about 60 to 100 times per minute.",
        short="The heart's right side pumps blood to the lungs for oxygen and its left side pumps the "
              "oxygen-rich blood to the body, with valves keeping the flow one-way.",
        simple="Your heart is a strong muscle that squeezes like a hand squeezing a water balloon. Every "
               "squeeze pushes blood through tubes to your whole body, bringing it the oxygen it needs."),
    "machine_learning": dict(
        q=["What is machine learning?", "Can you explain machine learning to a beginner?"],
        a="Machine learning is a way of building programs that **learn patterns from data** instead of "
          "following rules written by hand.\n\nA typical workflow:\n\n1. **Collect data**, for example "
          "thousands of emails labeled \"spam\" or \"not spam\".\n2. **Choose a model**, a function with many "
          "adjustable parameters, such as a decision tree or a neural network.\n3. **Train** it: the model "
          "makes predictions, a *loss function* measures how wrong they are, and an optimization algorithm "
          "(often gradient descent) nudges the parameters to reduce the loss.\n4. **Evaluate** it on data it "
          "has never seen, to check that it generalizes instead of memorizing.\n\nThe main families are "
          "*supervised learning* (learning from labeled examples), *unsupervised learning* (finding "
          "structure in unlabeled data) and *reinforcement learning* (learning by trial and error from "
          "rewards).",
        short="Machine learning builds models that improve at a task by adjusting their parameters to fit "
              "example data rather than by following hand-written rules.",
        simple="Machine learning is teaching a computer by showing it lots of examples. If you show it "
               "thousands of cat pictures and dog pictures, it slowly figures out by itself how to tell cats "
               "and dogs apart."),
    "cpu_cache": dict(
        q=["What is a CPU cache?", "Why do CPUs have caches?"],
        a="A CPU cache is a small, very fast memory built into the processor that keeps copies of recently "
          "used data from main memory (RAM).\n\n**Why it exists.** A modern core can execute an instruction "
          "in well under a nanosecond, but fetching data from RAM takes on the order of 100 ns. Without a "
          "cache, the processor would spend most of its time waiting.\n\n**How it is organized.** There are "
          "usually several levels:\n\n- **L1**: tens of kilobytes per core, about 1 ns.\n- **L2**: hundreds "
          "of kilobytes to a few megabytes per core, a few ns.\n- **L3**: tens of megabytes shared between "
          "cores, around 10-20 ns.\n\nData moves in blocks called *cache lines*, typically 64 bytes. Programs "
          "run faster when they access memory sequentially (spatial locality) and reuse data soon after "
          "loading it (temporal locality), because those accesses hit the cache.",
        short="A CPU cache is a small, fast memory close to the processor that holds recently used data so "
              "the CPU does not have to wait for slow main memory.",
        simple="Imagine doing homework: your backpack is far away, but your desk is right next to you. You "
               "keep the books you're using on the desk so you don't have to walk to the backpack every time. "
               "A CPU cache is the computer's desk."),
    "http": dict(
        q=["What happens when I type a URL into my browser?", "How does HTTP work?"],
        a="Quite a lot happens in a fraction of a second:\n\n1. **DNS lookup.** The browser asks the Domain "
          "Name System to translate the host name (like `example.com`) into an IP address.\n2. **Connection.** "
          "It opens a TCP connection to that address (or a QUIC connection for HTTP/3) and, for `https://`, "
          "performs a TLS handshake to set up encryption and verify the server's certificate.\n3. **Request.** "
          "It sends an HTTP request such as:\n\n```http\nGET /index.html HTTP/1.1\nHost: example.com\n"
          "Accept: text/html\n```\n\n4. **Response.** The server replies with a status code (`200 OK`, `404 "
          "Not Found`, ...), headers, and the body, usually HTML.\n5. **Rendering.** The browser parses the "
          "HTML, requests the CSS, JavaScript and images it references, builds the page layout and paints it "
          "on the screen.",
        short="The browser resolves the domain name to an IP address, connects securely, sends an HTTP "
              "request, receives the response and renders the page.",
        simple="Your browser first looks up where the website lives, like finding a friend's address. Then "
               "it knocks on the door and asks for the page, the website sends it back, and the browser "
               "draws it on your screen."),
    "recursion": dict(
        q=["What is recursion in programming?", "Can you explain recursion with an example?"],
        a="Recursion is when a function solves a problem by **calling itself** on a smaller version of the "
          "same problem.\n\nEvery recursive function needs two parts:\n\n1. A **base case** that can be "
          "answered directly, which stops the recursion.\n2. A **recursive case** that reduces the problem "
          "and calls the function again.\n\nFor example, the sum of a list in Python:\n\n```python\n"
          "def list_sum(items):\n    if not items:          # base case: empty list\n        return 0\n"
          "    return items[0] + list_sum(items[1:])   # recursive case\n\n\nprint(list_sum([2, 4, 6]))  # 12\n"
          "```\n\nThe call `list_sum([2, 4, 6])` becomes `2 + list_sum([4, 6])`, then `2 + 4 + list_sum([6])`, "
          "then `2 + 4 + 6 + list_sum([])` = 12. Without a base case the function would call itself forever "
          "and eventually crash with a stack overflow (in Python, a `RecursionError`).",
        short="Recursion is a technique where a function calls itself on smaller inputs until it reaches a "
              "base case it can answer directly.",
        simple="Recursion is like a set of nesting dolls. To open the big doll, you open it and find a "
               "smaller doll, and you do the same thing again and again until you reach the tiniest doll "
               "that doesn't open."),
    "big_o": dict(
        q=["What is Big O notation?", "Can you explain time complexity and Big O?"],
        a="Big O notation describes how the running time (or memory use) of an algorithm **grows** as the "
          "input size n grows, ignoring constant factors.\n\n| Notation | Name | Example |\n|---|---|---|\n"
          "| O(1) | constant | reading an array element by index |\n| O(log n) | logarithmic | binary search |\n"
          "| O(n) | linear | summing a list |\n| O(n log n) | linearithmic | merge sort |\n| O(n²) | quadratic | "
          "bubble sort, comparing all pairs |\n| O(2ⁿ) | exponential | trying every subset |\n\nFor example, "
          "if an O(n) algorithm takes 1 second for a million items, it takes about 2 seconds for two million; "
          "an O(n²) algorithm would take about 4 seconds. Big O usually describes the worst case, and it "
          "says nothing about constants, so for small inputs a \"slower\" algorithm can still win.",
        short="Big O notation describes how an algorithm's cost grows with the input size, ignoring constant "
              "factors.",
        simple="Big O is a way to say how much longer a job takes when it gets bigger. If you have to say hi "
               "to every kid in class, twice as many kids takes twice as long. If every kid has to shake "
               "hands with every other kid, it gets much, much longer!"),
    "greenhouse": dict(
        q=["What is the greenhouse effect?", "How do greenhouse gases warm the Earth?"],
        a="The greenhouse effect is the warming of Earth's surface caused by gases in the atmosphere that "
          "trap heat.\n\n1. Sunlight passes through the atmosphere and warms the ground and oceans.\n2. The "
          "warm surface radiates energy back out as infrared light.\n3. Greenhouse gases such as water "
          "vapor, carbon dioxide (CO₂), methane (CH₄) and nitrous oxide (N₂O) absorb much of that infrared "
          "radiation and re-emit it in all directions, including back down.\n\nWithout this natural effect, "
          "Earth's average surface temperature would be about -18 °C instead of about 15 °C. Burning fossil "
          "fuels has raised the CO₂ concentration from about 280 ppm before the industrial era to more than "
          "420 ppm today, strengthening the effect and warming the planet.",
        short="Greenhouse gases absorb infrared radiation from Earth's surface and send part of it back down, "
              "keeping the planet warmer than it would otherwise be.",
        simple="The air around the Earth acts like a cozy blanket. Some gases in the air keep part of the "
               "Sun's warmth from escaping into space. A thin blanket keeps us nice and warm, but adding more "
               "of these gases makes the blanket too thick, and the Earth gets too hot."),
    "plate_tectonics": dict(
        q=["What is plate tectonics?", "Why do earthquakes happen?"],
        a="Plate tectonics is the theory that Earth's outer shell, the **lithosphere**, is broken into large "
          "plates that slowly move over the hotter, softer mantle beneath them, typically a few centimeters "
          "per year (about as fast as fingernails grow).\n\nWhat happens at plate boundaries:\n\n- "
          "**Divergent** boundaries: plates move apart and new crust forms, as along the Mid-Atlantic "
          "Ridge.\n- **Convergent** boundaries: plates collide. One may sink beneath the other (subduction), "
          "forming trenches and volcanoes, or they crumple into mountain ranges like the Himalayas.\n- "
          "**Transform** boundaries: plates slide past each other, like the San Andreas Fault.\n\n"
          "Earthquakes happen when stress builds up where plates are stuck together and is suddenly released "
          "as the rocks slip.",
        short="Earth's outer shell is divided into slowly moving plates, and most earthquakes, volcanoes and "
              "mountain ranges form where those plates meet.",
        simple="The ground under us is like a cracked eggshell made of giant pieces that move very, very "
               "slowly. When two pieces get stuck and then suddenly slip, the ground shakes: that's an "
               "earthquake."),
    "binary": dict(
        q=["How do binary numbers work?", "Why do computers use binary?"],
        a="Binary is a number system with only two digits, 0 and 1. Each position is worth twice the one to "
          "its right, just as each decimal position is worth ten times more.\n\nFor example, 1011 in binary "
          "means:\n\n1 × 8 + 0 × 4 + 1 × 2 + 1 × 1 = 11\n\nComputers use binary because their circuits are "
          "built from transistors that are easiest to operate reliably in two states, off and on, or low and "
          "high voltage. Two states are also robust against electrical noise. A single binary digit is "
          "called a **bit**, and 8 bits make a **byte**, which can represent 2⁸ = 256 different values.",
        short="Binary is base 2: each digit is 0 or 1 and each position doubles in value, which matches the "
              "on/off states of computer circuits.",
        simple="We count with ten fingers, so we use ten digits. Computers only have two \"fingers\": off "
               "and on. So they write every number using just 0 and 1."),
}

# ---------------------------------------------------------------------------------------------
# Tips: topic -> (prompt noun phrase, [(title, sentence), ...])
TIPS = {
    "sleep": ("sleeping better", [
        ("Keep a regular schedule", "Go to bed and wake up at the same time every day, even on weekends."),
        ("Limit screens before bed", "Bright screens can delay sleepiness, so put devices away 30 to 60 minutes before bed."),
        ("Keep the bedroom cool and dark", "A temperature of about 18 °C and blackout curtains help most people sleep."),
        ("Watch caffeine", "Avoid coffee, tea and energy drinks in the afternoon and evening."),
        ("Get daylight in the morning", "Morning light helps set your internal clock."),
        ("Wind down", "A calm routine, such as reading or stretching, signals that it is time to sleep."),
        ("Don't lie awake for long", "If you can't sleep after about 20 minutes, get up and do something quiet until you feel sleepy."),
        ("Be careful with naps", "Keep naps short (20 to 30 minutes) and early in the afternoon."),
    ]),
    "language": ("learning a new language", [
        ("Practice a little every day", "Fifteen minutes daily beats two hours once a week."),
        ("Learn the most common words first", "A few hundred frequent words cover a large share of everyday speech."),
        ("Speak from day one", "Talking to yourself or a partner builds confidence and shows what you are missing."),
        ("Use spaced repetition", "Flashcard apps that review words just before you forget them save a lot of time."),
        ("Listen a lot", "Podcasts, songs and shows train your ear for rhythm and pronunciation."),
        ("Don't fear mistakes", "Every error is feedback; native speakers will usually be glad you tried."),
        ("Read things you enjoy", "Graded readers, comics or news about your hobbies keep you motivated."),
        ("Set concrete goals", "\"Order a meal in Italian by June\" is easier to work toward than \"become fluent\"."),
    ]),
    "money": ("saving money", [
        ("Track your spending", "Write down everything you spend for a month to see where the money goes."),
        ("Pay yourself first", "Move a fixed amount into savings as soon as you are paid."),
        ("Make a shopping list", "Planning meals and buying only what is on the list cuts impulse purchases."),
        ("Review subscriptions", "Cancel the services you no longer use."),
        ("Wait before big purchases", "A 48-hour pause helps you tell needs from wants."),
        ("Build an emergency fund", "A few months of expenses set aside keeps surprises from becoming debt."),
        ("Cook at home more often", "Home-cooked meals usually cost a fraction of eating out."),
        ("Compare prices", "Check a couple of shops or websites before buying anything expensive."),
    ]),
    "clean_code": ("writing clean code", [
        ("Use descriptive names", "`elapsed_seconds` tells the reader far more than `t`."),
        ("Keep functions small", "A function should do one thing and do it well."),
        ("Avoid duplication", "If you copy and paste code, consider turning it into a function."),
        ("Write tests", "Tests document how code should behave and catch regressions early."),
        ("Handle errors explicitly", "Check return values and fail with clear messages."),
        ("Comment the why, not the what", "The code shows what it does; comments should explain why."),
        ("Be consistent", "Follow one style for formatting and naming throughout a project, ideally enforced by a formatter."),
        ("Refactor as you go", "Leave the code a little cleaner than you found it."),
    ]),
    "study": ("staying focused while studying", [
        ("Work in short blocks", "Try 25 minutes of focused work followed by a 5-minute break."),
        ("Put your phone away", "Keep it in another room or turn on a focus mode."),
        ("Decide on one goal per session", "\"Finish the exercises on page 42\" is clearer than \"study math\"."),
        ("Test yourself", "Recalling answers without looking is more effective than rereading notes."),
        ("Study in a consistent place", "A dedicated spot helps your brain switch into work mode."),
        ("Take care of the basics", "Sleep, water and a snack make concentration much easier."),
        ("Explain it to someone else", "Teaching a topic reveals the parts you don't understand yet."),
        ("Mix subjects", "Switching between related topics (interleaving) improves long-term memory."),
    ]),
    "running": ("starting to run", [
        ("Start slowly", "Alternate one minute of running with two minutes of walking."),
        ("Run at a conversational pace", "If you can't speak in full sentences, slow down."),
        ("Increase gradually", "Add no more than about 10% to your weekly distance at a time."),
        ("Get comfortable shoes", "A specialist shop can help you find a pair that fits your stride."),
        ("Warm up and cool down", "Walk briskly for five minutes before and after each run."),
        ("Rest between runs", "Running every other day gives your body time to adapt."),
        ("Listen to your body", "Mild soreness is normal; sharp pain is a reason to stop."),
        ("Set a small goal", "Signing up for a 5 km fun run gives your training a purpose."),
    ]),
    "speaking": ("public speaking", [
        ("Know your opening", "Memorize the first minute so you start confidently."),
        ("Tell a story", "Audiences remember stories and examples far better than lists of facts."),
        ("Keep slides simple", "Use few words per slide and let the slides support you, not replace you."),
        ("Rehearse out loud", "Practice the full talk several times, ideally in front of a friend."),
        ("Slow down", "Nervous speakers tend to rush; pauses make you sound confident."),
        ("Make eye contact", "Look at individual people for a few seconds at a time."),
        ("Prepare for questions", "Think about what people are likely to ask and prepare short answers."),
        ("Reframe nerves as energy", "A racing heart is normal; it can make your talk more lively."),
    ]),
    "plants": ("keeping houseplants healthy", [
        ("Check the light", "Most problems come from too little or too much light; match the plant to the window."),
        ("Water when the soil is dry", "Push a finger into the soil; water only if the top few centimeters are dry."),
        ("Use pots with drainage holes", "Standing water rots roots."),
        ("Don't overwater", "More houseplants die from too much water than from too little."),
        ("Feed them in spring and summer", "A diluted fertilizer every few weeks during the growing season is enough."),
        ("Dust the leaves", "Clean leaves absorb more light."),
        ("Watch for pests", "Check the undersides of leaves for tiny insects or webs."),
        ("Repot when roots crowd the pot", "Move up one pot size, usually every one or two years."),
    ]),
    "stress": ("reducing stress", [
        ("Breathe slowly", "Try breathing in for four seconds and out for six, for a couple of minutes."),
        ("Move your body", "A brisk walk is one of the quickest ways to lower stress."),
        ("Write it down", "Listing what worries you makes problems feel more manageable."),
        ("Break tasks into steps", "Focus on the next small action instead of the whole mountain."),
        ("Protect your sleep", "Stress and poor sleep feed each other."),
        ("Talk to someone", "Friends, family or a professional can offer support and perspective."),
        ("Limit the news", "Check the headlines once or twice a day instead of constantly."),
        ("Spend time outside", "Even a few minutes in a park can help you feel calmer."),
    ]),
    "email": ("writing a clear email", [
        ("Write a specific subject line", "\"Budget review moved to Friday 3 pm\" beats \"Update\"."),
        ("Put the main point first", "State what you need in the first two sentences."),
        ("Keep it short", "Use short paragraphs and bullet points for lists."),
        ("Make requests explicit", "Say exactly what you need and by when."),
        ("Be polite but direct", "A friendly tone and a clear request work well together."),
        ("Check the recipients", "Only copy the people who need to read it."),
        ("Proofread before sending", "Reading the message aloud catches most mistakes."),
        ("End with a clear next step", "For example: \"Could you confirm by Thursday?\""),
    ]),
}

# ---------------------------------------------------------------------------------------------
# Definitions: word -> (part of speech, definition, example sentence, synonyms)
WORDS = {
    "ephemeral": ("adjective", "lasting for a very short time", "The beauty of the cherry blossoms is ephemeral; they fall within a week or two.", ["fleeting", "short-lived", "transient"]),
    "ubiquitous": ("adjective", "present or found everywhere", "Smartphones have become ubiquitous in modern life.", ["omnipresent", "pervasive", "everywhere"]),
    "meticulous": ("adjective", "showing great attention to detail; very careful and precise", "She kept meticulous notes of every experiment.", ["careful", "thorough", "precise"]),
    "resilient": ("adjective", "able to recover quickly from difficulties", "Children are often remarkably resilient after setbacks.", ["tough", "adaptable", "hardy"]),
    "ambiguous": ("adjective", "open to more than one interpretation", "The instructions were ambiguous, so everyone did something different.", ["unclear", "vague", "equivocal"]),
    "candid": ("adjective", "truthful and straightforward; frank", "Thank you for your candid feedback on my essay.", ["frank", "honest", "open"]),
    "frugal": ("adjective", "careful with money or resources; economical", "By living a frugal life, they saved enough for a house.", ["thrifty", "economical", "sparing"]),
    "pragmatic": ("adjective", "dealing with things sensibly and realistically, based on practical considerations", "We need a pragmatic solution that we can finish this week.", ["practical", "realistic", "sensible"]),
    "serendipity": ("noun", "the occurrence of fortunate events by chance", "Meeting my best friend on a delayed train was pure serendipity.", ["luck", "fortune", "happy accident"]),
    "verbose": ("adjective", "using more words than needed", "The report was so verbose that nobody finished reading it.", ["wordy", "long-winded", "rambling"]),
    "concise": ("adjective", "giving a lot of information clearly in few words", "Please write a concise summary of the meeting.", ["brief", "succinct", "to the point"]),
    "benevolent": ("adjective", "well-meaning and kindly", "A benevolent neighbor paid for the children's school trip.", ["kind", "generous", "charitable"]),
    "diligent": ("adjective", "having or showing care and effort in one's work", "A diligent student reviews her notes every evening.", ["hard-working", "industrious", "conscientious"]),
    "eloquent": ("adjective", "fluent or persuasive in speaking or writing", "He gave an eloquent speech at his sister's wedding.", ["articulate", "expressive", "persuasive"]),
    "tenacious": ("adjective", "holding firmly to something; persistent", "The tenacious reporter kept asking until she got an answer.", ["persistent", "determined", "stubborn"]),
    "lucid": ("adjective", "expressed clearly; easy to understand", "The textbook gives a lucid explanation of photosynthesis.", ["clear", "intelligible", "coherent"]),
    "mundane": ("adjective", "lacking interest or excitement; ordinary", "Even mundane chores like washing dishes can be relaxing.", ["ordinary", "everyday", "routine"]),
    "obsolete": ("adjective", "no longer produced or used; out of date", "Floppy disks have become obsolete.", ["outdated", "outmoded", "antiquated"]),
    "empathy": ("noun", "the ability to understand and share the feelings of another person", "Good nurses combine skill with empathy.", ["compassion", "understanding", "sensitivity"]),
    "nostalgia": ("noun", "a sentimental longing for the past", "The old song filled him with nostalgia for his school days.", ["wistfulness", "longing", "reminiscence"]),
    "catalyst": ("noun", "a substance that speeds up a chemical reaction without being used up; figuratively, something that causes change", "The new manager was a catalyst for improving the team's habits.", ["trigger", "spark", "stimulus"]),
    "procrastinate": ("verb", "to delay or postpone doing something", "I tend to procrastinate when a task feels too big.", ["delay", "postpone", "put off"]),
    "mitigate": ("verb", "to make something less severe or harmful", "Planting trees can help mitigate flooding.", ["reduce", "lessen", "alleviate"]),
    "scrutinize": ("verb", "to examine closely and thoroughly", "The editor scrutinized every sentence of the article.", ["examine", "inspect", "analyze"]),
}

# ---------------------------------------------------------------------------------------------
# Recipes: name -> (servings, ingredients, steps, tip)
RECIPES = {
    "pancakes": ("4 servings", ["200 g flour", "2 eggs", "300 ml milk", "1 tbsp sugar", "2 tsp baking powder",
                                "a pinch of salt", "butter for the pan"],
                 ["Whisk the flour, sugar, baking powder and salt in a bowl.",
                  "In another bowl, beat the eggs with the milk.",
                  "Pour the wet ingredients into the dry ones and stir until just combined; a few lumps are fine.",
                  "Heat a pan over medium heat and melt a little butter.",
                  "Pour about 60 ml of batter per pancake and cook until bubbles appear on the surface, about 2 minutes.",
                  "Flip and cook for another minute until golden."],
                 "Let the batter rest for 10 minutes before cooking for fluffier pancakes."),
    "omelette": ("1 serving", ["3 eggs", "1 tbsp butter", "salt and pepper", "optional: grated cheese, chopped herbs"],
                 ["Beat the eggs with a pinch of salt and pepper until smooth.",
                  "Melt the butter in a non-stick pan over medium heat.",
                  "Pour in the eggs and stir gently with a spatula for about 20 seconds.",
                  "When the eggs are mostly set but still slightly runny on top, add the cheese or herbs.",
                  "Fold the omelette in half and slide it onto a plate."],
                 "Keep the heat moderate; high heat makes the eggs rubbery."),
    "rice": ("3 to 4 servings", ["200 g long-grain rice", "300 ml water", "a pinch of salt"],
             ["Rinse the rice in cold water until the water runs almost clear.",
              "Put the rice, water and salt in a pot and bring it to a boil.",
              "Turn the heat to low, cover with a lid and simmer for 12 minutes.",
              "Turn off the heat and let it rest, still covered, for 10 minutes.",
              "Fluff the rice with a fork and serve."],
             "Don't lift the lid while it simmers; the steam does the cooking."),
    "tomato_soup": ("4 servings", ["1 kg ripe tomatoes (or 2 cans)", "1 onion", "2 cloves of garlic", "2 tbsp olive oil",
                                   "500 ml vegetable stock", "salt, pepper and a few basil leaves"],
                    ["Chop the onion and garlic and soften them in the olive oil for 5 minutes.",
                     "Add the chopped tomatoes and cook for 10 minutes.",
                     "Pour in the stock and simmer for 15 minutes.",
                     "Blend until smooth, then season with salt and pepper.",
                     "Serve with torn basil leaves and a slice of bread."],
                    "A teaspoon of sugar balances the acidity of less ripe tomatoes."),
    "green_tea": ("1 cup", ["1 tsp loose green tea or 1 tea bag", "250 ml water"],
                  ["Heat the water to about 70-80 °C; it should steam but not boil.",
                   "Put the tea in a cup or teapot and pour the water over it.",
                   "Steep for 2 to 3 minutes.",
                   "Remove the leaves or the bag and enjoy."],
                  "Boiling water and long steeping make green tea bitter."),
}

# ---------------------------------------------------------------------------------------------
# Facts tables (kept to well-established facts).
# country -> (capital, where, main languages, currency)
COUNTRIES = {
    "France": ("Paris", "Europe", "French", "euro"),
    "Germany": ("Berlin", "Europe", "German", "euro"),
    "Italy": ("Rome", "Europe", "Italian", "euro"),
    "Spain": ("Madrid", "Europe", "Spanish", "euro"),
    "Portugal": ("Lisbon", "Europe", "Portuguese", "euro"),
    "Greece": ("Athens", "Europe", "Greek", "euro"),
    "Poland": ("Warsaw", "Europe", "Polish", "Polish złoty"),
    "Sweden": ("Stockholm", "Europe", "Swedish", "Swedish krona"),
    "Norway": ("Oslo", "Europe", "Norwegian", "Norwegian krone"),
    "Ireland": ("Dublin", "Europe", "Irish and English", "euro"),
    "the United Kingdom": ("London", "Europe", "English", "pound sterling"),
    "Japan": ("Tokyo", "Asia", "Japanese", "Japanese yen"),
    "China": ("Beijing", "Asia", "Mandarin Chinese", "renminbi (yuan)"),
    "South Korea": ("Seoul", "Asia", "Korean", "South Korean won"),
    "India": ("New Delhi", "Asia", "Hindi and English, along with many regional languages", "Indian rupee"),
    "Vietnam": ("Hanoi", "Asia", "Vietnamese", "Vietnamese đồng"),
    "Thailand": ("Bangkok", "Asia", "Thai", "Thai baht"),
    "Turkey": ("Ankara", "both Europe and Asia", "Turkish", "Turkish lira"),
    "Russia": ("Moscow", "both Europe and Asia", "Russian", "Russian ruble"),
    "Egypt": ("Cairo", "Africa", "Arabic", "Egyptian pound"),
    "Kenya": ("Nairobi", "Africa", "Swahili and English", "Kenyan shilling"),
    "Nigeria": ("Abuja", "Africa", "English, along with Hausa, Yoruba, Igbo and many others", "Nigerian naira"),
    "Morocco": ("Rabat", "Africa", "Arabic and Tamazight (Berber)", "Moroccan dirham"),
    "Brazil": ("Brasília", "South America", "Portuguese", "Brazilian real"),
    "Argentina": ("Buenos Aires", "South America", "Spanish", "Argentine peso"),
    "Peru": ("Lima", "South America", "Spanish, Quechua and Aymara", "Peruvian sol"),
    "Chile": ("Santiago", "South America", "Spanish", "Chilean peso"),
    "Mexico": ("Mexico City", "North America", "Spanish", "Mexican peso"),
    "Canada": ("Ottawa", "North America", "English and French", "Canadian dollar"),
    "the United States": ("Washington, D.C.", "North America", "English", "US dollar"),
    "Australia": ("Canberra", "Oceania", "English", "Australian dollar"),
    "New Zealand": ("Wellington", "Oceania", "English and Māori", "New Zealand dollar"),
}
# Plausible wrong capitals (largest or best-known city that is not the capital) for rejected answers.
WRONG_CAPITALS = {"Australia": "Sydney", "Canada": "Toronto", "Brazil": "Rio de Janeiro", "Turkey": "Istanbul",
                  "Nigeria": "Lagos", "Morocco": "Casablanca", "the United States": "New York City",
                  "China": "Shanghai", "India": "Mumbai", "Vietnam": "Ho Chi Minh City", "New Zealand": "Auckland",
                  "Switzerland": "Zurich", "Germany": "Munich", "Spain": "Barcelona", "Italy": "Milan",
                  "Japan": "Kyoto", "South Korea": "Busan", "Russia": "Saint Petersburg", "Kenya": "Mombasa",
                  "Peru": "Cusco", "Poland": "Kraków", "Egypt": "Alexandria"}

# planet -> (position, kind, mean distance in AU, orbital period, known fact)
PLANETS = {
    "Mercury": (1, "rocky planet", "0.39", "88 days", "It is the smallest planet and has no moons."),
    "Venus": (2, "rocky planet", "0.72", "225 days", "Its thick carbon dioxide atmosphere makes it the hottest planet, with surface temperatures around 465 °C."),
    "Earth": (3, "rocky planet", "1.00", "365.25 days", "It is the only planet known to support life, and it has one moon."),
    "Mars": (4, "rocky planet", "1.52", "687 days", "It has two small moons, Phobos and Deimos, and the tallest volcano in the solar system, Olympus Mons."),
    "Jupiter": (5, "gas giant", "5.20", "about 11.9 years", "It is the largest planet, and its Great Red Spot is a storm bigger than Earth."),
    "Saturn": (6, "gas giant", "9.5", "about 29.5 years", "It is famous for its bright rings, made mostly of ice particles."),
    "Uranus": (7, "ice giant", "19.2", "about 84 years", "It rotates on its side, with an axial tilt of about 98°."),
    "Neptune": (8, "ice giant", "30.1", "about 165 years", "It has the fastest winds measured in the solar system, over 2,000 km/h."),
}

# element -> (symbol, atomic number, note)
ELEMENTS = {
    "hydrogen": ("H", 1, "the lightest and most abundant element in the universe"),
    "helium": ("He", 2, "a noble gas used in balloons and for cooling superconducting magnets"),
    "lithium": ("Li", 3, "a light metal used in rechargeable batteries"),
    "carbon": ("C", 6, "the basis of organic chemistry; diamond and graphite are both pure carbon"),
    "nitrogen": ("N", 7, "about 78% of Earth's atmosphere"),
    "oxygen": ("O", 8, "about 21% of the atmosphere and essential for respiration"),
    "sodium": ("Na", 11, "a soft, reactive metal; with chlorine it forms table salt, NaCl"),
    "aluminium": ("Al", 13, "a light, corrosion-resistant metal used in cans and aircraft"),
    "silicon": ("Si", 14, "the semiconductor at the heart of computer chips"),
    "chlorine": ("Cl", 17, "a reactive gas used to disinfect drinking water"),
    "iron": ("Fe", 26, "the main component of steel and of Earth's core"),
    "copper": ("Cu", 29, "an excellent conductor used in electrical wiring"),
    "silver": ("Ag", 47, "the best electrical conductor of all metals"),
    "gold": ("Au", 79, "a dense, soft metal that does not tarnish"),
    "mercury": ("Hg", 80, "the only metal that is liquid at room temperature"),
    "lead": ("Pb", 82, "a heavy, toxic metal once used in paint and fuel"),
}

# ---------------------------------------------------------------------------------------------
# Phrasebook: English phrase -> {language: translation}
LANGS = ["French", "German", "Spanish", "Chinese", "Japanese", "Korean", "Russian", "Greek", "Arabic", "Hindi"]
PHRASES = {
    "Good morning": {"French": "Bonjour", "German": "Guten Morgen", "Spanish": "Buenos días", "Chinese": "早上好",
                     "Japanese": "おはようございます", "Korean": "좋은 아침입니다", "Russian": "Доброе утро",
                     "Greek": "Καλημέρα", "Arabic": "صباح الخير", "Hindi": "सुप्रभात"},
    "Thank you very much": {"French": "Merci beaucoup", "German": "Vielen Dank", "Spanish": "Muchas gracias",
                            "Chinese": "非常感谢", "Japanese": "どうもありがとうございます", "Korean": "정말 감사합니다",
                            "Russian": "Большое спасибо", "Greek": "Ευχαριστώ πολύ", "Arabic": "شكرا جزيلا",
                            "Hindi": "बहुत-बहुत धन्यवाद"},
    "Where is the train station?": {"French": "Où est la gare\u00a0?", "German": "Wo ist der Bahnhof?",
                                    "Spanish": "¿Dónde está la estación de tren?", "Chinese": "火车站在哪里？",
                                    "Japanese": "駅はどこですか？", "Korean": "기차역이 어디에 있어요?",
                                    "Russian": "Где вокзал?", "Greek": "Πού είναι ο σιδηροδρομικός σταθμός;",
                                    "Arabic": "أين محطة القطار؟", "Hindi": "रेलवे स्टेशन कहाँ है?"},
    "I would like a cup of coffee": {"French": "Je voudrais une tasse de café.", "German": "Ich hätte gern eine Tasse Kaffee.",
                                     "Spanish": "Quisiera una taza de café.", "Chinese": "我想要一杯咖啡。",
                                     "Japanese": "コーヒーを一杯お願いします。", "Korean": "커피 한 잔 주세요.",
                                     "Russian": "Я бы хотел чашку кофе.", "Greek": "Θα ήθελα ένα φλιτζάνι καφέ.",
                                     "Arabic": "أريد فنجان قهوة.", "Hindi": "मुझे एक कप कॉफ़ी चाहिए।"},
    "How are you?": {"French": "Comment allez-vous\u00a0?", "German": "Wie geht es Ihnen?", "Spanish": "¿Cómo estás?",
                     "Chinese": "你好吗？", "Japanese": "お元気ですか？", "Korean": "어떻게 지내세요?",
                     "Russian": "Как дела?", "Greek": "Τι κάνεις;", "Arabic": "كيف حالك؟", "Hindi": "आप कैसे हैं?"},
    "See you tomorrow": {"French": "À demain\u00a0!", "German": "Bis morgen!", "Spanish": "¡Hasta mañana!",
                         "Chinese": "明天见！", "Japanese": "また明日！", "Korean": "내일 봐요!", "Russian": "До завтра!",
                         "Greek": "Τα λέμε αύριο!", "Arabic": "أراك غدا!", "Hindi": "कल मिलते हैं!"},
    "The weather is nice today": {"French": "Il fait beau aujourd'hui.", "German": "Das Wetter ist heute schön.",
                                  "Spanish": "Hoy hace buen tiempo.", "Chinese": "今天天气很好。",
                                  "Japanese": "今日はいい天気ですね。", "Korean": "오늘 날씨가 좋네요.",
                                  "Russian": "Сегодня хорошая погода.", "Greek": "Σήμερα έχει ωραίο καιρό.",
                                  "Arabic": "الطقس جميل اليوم.", "Hindi": "आज मौसम अच्छा है।"},
    "I am learning to program": {"French": "J'apprends à programmer.", "German": "Ich lerne programmieren.",
                                 "Spanish": "Estoy aprendiendo a programar.", "Chinese": "我正在学习编程。",
                                 "Japanese": "私はプログラミングを勉強しています。", "Korean": "저는 프로그래밍을 배우고 있어요.",
                                 "Russian": "Я учусь программировать.", "Greek": "Μαθαίνω προγραμματισμό.",
                                 "Arabic": "أنا أتعلم البرمجة.", "Hindi": "मैं प्रोग्रामिंग सीख रहा हूँ।"},
}
LANG_NOTES = {
    "French": "French puts a (non-breaking) space before ? and !, and uses accents such as é, è, à and ç.",
    "German": "German capitalizes all nouns, like *Bahnhof* and *Wetter*.",
    "Spanish": "Spanish questions and exclamations start with an inverted mark: ¿...? and ¡...!",
    "Chinese": "Chinese is written without spaces between words and uses full-width punctuation such as ？ and 。",
    "Japanese": "Japanese mixes three scripts: kanji (漢字), hiragana (ひらがな) and katakana (カタカナ).",
    "Korean": "Korean is written in Hangul, where each block like 한 combines consonants and a vowel into one syllable.",
    "Russian": "Russian uses the Cyrillic alphabet; Большое спасибо is read roughly as \"bolshoye spasibo\".",
    "Greek": "Greek uses a semicolon-like mark (;) as its question mark.",
    "Arabic": "Arabic is written from right to left, and its letters join to their neighbours.",
    "Hindi": "Hindi is written in Devanagari, where vowel signs such as ि and ी attach to consonants.",
}

# Conversations written directly in other languages: (language, prompt, answer, curt rejected reply)
NATIVE = [
    ("Chinese", "你好！你能做什么？",
     "你好！我是一个乐于助人的助手。我可以回答问题、解释概念、帮你写代码，也可以帮你翻译文本。请问有什么可以帮你的吗？",
     "不知道。"),
    ("Chinese", "请用简单的语言解释什么是光合作用。",
     "光合作用是植物利用阳光制造养分的过程。\n\n1. 叶子吸收阳光。\n2. 根部吸收水分，叶子从空气中吸收二氧化碳。\n"
     "3. 在叶绿体里，植物把水和二氧化碳变成葡萄糖，同时释放出氧气。\n\n简单来说：阳光 + 水 + 二氧化碳 → 糖 + 氧气。",
     "自己查吧。"),
    ("Chinese", "中国的首都是哪里？",
     "中国的首都是北京。北京是中国的政治和文化中心，有故宫、天坛等著名景点，附近还可以参观长城。",
     "上海。"),
    ("Chinese", "给我三个学习编程的建议。",
     "当然可以！\n\n1. **每天练习**：哪怕只有三十分钟，坚持比时长更重要。\n2. **动手做小项目**：比如计算器、"
     "待办事项清单或者小游戏。\n3. **学会阅读错误信息**：报错信息通常会告诉你问题出在哪里。\n\n祝你学习顺利！",
     "多写代码就行了。"),
    ("Chinese", "一年有几个季节？为什么会有季节变化？",
     "一年通常有四个季节：春、夏、秋、冬。\n\n季节变化的原因是地球的自转轴是倾斜的（大约 23.4°）。地球绕太阳公转时，"
     "北半球和南半球轮流更直接地接受阳光：接受直射、白天更长的半球是夏天，另一个半球则是冬天。",
     "因为地球离太阳有时近有时远。"),
    ("Japanese", "こんにちは！自己紹介をしてください。",
     "こんにちは！私は質問に答えたり、文章を書いたり、プログラミングを手伝ったりするアシスタントです。"
     "何かお手伝いできることはありますか？",
     "特にありません。"),
    ("Japanese", "日本の首都はどこですか？",
     "日本の首都は東京です。東京は日本最大の都市で、政治・経済・文化の中心地です。", "京都です。"),
    ("Japanese", "富士山の高さを教えてください。",
     "富士山の高さは3,776メートルです。日本で一番高い山で、静岡県と山梨県にまたがっています。2013年には世界文化遺産に登録されました。",
     "たぶん5,000メートルくらいです。"),
    ("Japanese", "水はなぜ100度で沸騰するのですか？",
     "1気圧のもとでは、水の蒸気圧が大気圧と等しくなる温度が約100℃だからです。\n\n山の上のように気圧が低い場所では、"
     "もっと低い温度で沸騰します。たとえば富士山の山頂では約87℃で沸騰します。逆に圧力鍋の中では気圧が高いので、"
     "100℃より高い温度になり、料理が早くできます。",
     "わかりません。"),
    ("Japanese", "おすすめの勉強方法を三つ教えてください。",
     "もちろんです！\n\n1. **短い時間で集中する**：25分勉強して5分休む方法（ポモドーロ・テクニック）が効果的です。\n"
     "2. **自分でテストする**：ノートを読み返すより、思い出す練習のほうが記憶に残ります。\n"
     "3. **人に説明する**：説明できないところが、まだ理解していない部分です。\n\n頑張ってください！",
     "勉強するしかないです。"),
    ("Korean", "안녕하세요! 무엇을 도와줄 수 있나요?",
     "안녕하세요! 저는 질문에 답하고, 어려운 개념을 쉽게 설명하고, 프로그래밍이나 번역을 도와드릴 수 있어요. "
     "무엇을 도와드릴까요?",
     "몰라요."),
    ("Korean", "한국의 수도는 어디인가요?",
     "대한민국의 수도는 서울입니다. 서울은 한강을 따라 자리 잡은 대도시로, 천만 명 가까운 사람들이 살고 있습니다.",
     "부산이에요."),
    ("Korean", "한글은 누가 만들었나요?",
     "한글은 조선의 세종대왕이 1443년에 만들고, 1446년에 『훈민정음』이라는 이름으로 반포했습니다. "
     "백성들이 쉽게 글을 배울 수 있도록 과학적으로 설계된 문자입니다.",
     "잘 모르겠어요."),
    ("Korean", "잠을 잘 자는 방법을 알려 주세요.",
     "물론이죠! 다음 방법을 시도해 보세요.\n\n1. **매일 같은 시간에 자고 일어나기**\n2. **잠들기 한 시간 전에는 "
     "스마트폰 멀리하기**\n3. **오후에는 커피 줄이기**\n4. **침실을 시원하고 어둡게 유지하기**\n\n푹 주무세요! 😴",
     "그냥 일찍 자세요."),
    ("Russian", "Привет! Чем ты можешь помочь?",
     "Привет! Я могу отвечать на вопросы, объяснять сложные темы простыми словами, помогать с программированием "
     "и переводом. Чем могу помочь?",
     "Ничем."),
    ("Russian", "Какая столица России?",
     "Столица России — Москва. Это крупнейший город страны и её политический, экономический и культурный центр.",
     "Санкт-Петербург."),
    ("Russian", "Объясни, что такое рекурсия.",
     "Рекурсия — это приём, при котором функция вызывает саму себя для решения более простой версии той же задачи.\n\n"
     "Пример на Python:\n\n```python\ndef factorial(n):\n    if n <= 1:\n        return 1\n    return n * factorial(n - 1)\n"
     "\n\nprint(factorial(5))  # 120\n```\n\nВажно, чтобы у рекурсии было **базовое условие** (здесь `n <= 1`), "
     "иначе функция будет вызывать себя бесконечно.",
     "Это когда функция вызывает функцию."),
    ("Russian", "Кто написал роман «Война и мир»?",
     "Роман «Война и мир» написал Лев Николаевич Толстой. Он был опубликован в 1860-х годах и рассказывает о "
     "жизни русского общества во время войн с Наполеоном.",
     "Достоевский."),
    ("Greek", "Γεια σου! Τι μπορείς να κάνεις;",
     "Γεια σου! Μπορώ να απαντώ σε ερωτήσεις, να εξηγώ έννοιες με απλά λόγια και να βοηθώ με προγραμματισμό ή "
     "μεταφράσεις. Πώς μπορώ να σε βοηθήσω;",
     "Τίποτα."),
    ("Greek", "Ποια είναι η πρωτεύουσα της Ελλάδας;",
     "Η πρωτεύουσα της Ελλάδας είναι η Αθήνα. Είναι γνωστή για την Ακρόπολη και τον Παρθενώνα.", "Η Θεσσαλονίκη."),
    ("Greek", "Τι σημαίνει το γράμμα π στα μαθηματικά;",
     "Το π (πι) είναι ο λόγος της περιφέρειας ενός κύκλου προς τη διάμετρό του. Η τιμή του είναι περίπου 3,14159, "
     "και είναι άρρητος αριθμός: τα δεκαδικά του ψηφία δεν τελειώνουν ποτέ και δεν επαναλαμβάνονται.",
     "Είναι ένα γράμμα."),
    ("Arabic", "مرحبا! كيف يمكنك مساعدتي؟",
     "مرحبا! يمكنني الإجابة عن أسئلتك، وشرح المفاهيم بطريقة بسيطة، والمساعدة في البرمجة والترجمة. بماذا يمكنني "
     "مساعدتك اليوم؟",
     "لا أعرف."),
    ("Arabic", "ما هي عاصمة مصر؟",
     "عاصمة مصر هي القاهرة، وهي أكبر مدينة في مصر وتقع على ضفاف نهر النيل.", "الإسكندرية."),
    ("Arabic", "كم عدد أيام الأسبوع؟",
     "عدد أيام الأسبوع سبعة: السبت، والأحد، والاثنين، والثلاثاء، والأربعاء، والخميس، والجمعة.", "خمسة."),
    ("Arabic", "ما معنى «السَّلَامُ عَلَيْكُمْ»؟",
     "«السَّلَامُ عَلَيْكُمْ» تحية عربية معناها «ليكن السلام معكم». والرد المعتاد عليها هو: «وَعَلَيْكُمُ السَّلَامُ».\n\n"
     "لاحظ أن الكلمات هنا مكتوبة بالتشكيل (الحركات مثل الفتحة والضمة والسكون)، وهو يساعد على النطق الصحيح.",
     "مرحبا."),
    ("Hindi", "नमस्ते! आप क्या कर सकते हैं?",
     "नमस्ते! मैं आपके सवालों के जवाब दे सकता हूँ, कठिन बातों को आसान भाषा में समझा सकता हूँ, और प्रोग्रामिंग या "
     "अनुवाद में मदद कर सकता हूँ। बताइए, मैं आपकी क्या मदद करूँ?",
     "कुछ नहीं।"),
    ("Hindi", "भारत की राजधानी क्या है?",
     "भारत की राजधानी नई दिल्ली है। यहाँ संसद भवन, राष्ट्रपति भवन और इंडिया गेट जैसी प्रसिद्ध जगहें हैं।", "मुंबई।"),
    ("Hindi", "योग के तीन फायदे बताइए।",
     "ज़रूर!\n\n1. **लचीलापन बढ़ता है**: नियमित आसन से मांसपेशियाँ और जोड़ लचीले बनते हैं।\n"
     "2. **तनाव कम होता है**: गहरी साँस लेने से मन शांत होता है।\n3. **एकाग्रता बेहतर होती है**: ध्यान से ध्यान "
     "केंद्रित करने की क्षमता बढ़ती है।",
     "योग करो, पता चल जाएगा।"),
    ("French", "Bonjour ! Peux-tu m'expliquer ce qu'est une fonction récursive ?",
     "Bonjour ! Une fonction récursive est une fonction qui **s'appelle elle-même** pour résoudre une version plus "
     "petite du même problème.\n\nExemple en Python :\n\n```python\ndef somme(n):\n    if n == 0:\n        return 0\n"
     "    return n + somme(n - 1)\n\n\nprint(somme(4))  # 10\n```\n\nIl faut toujours un **cas de base** (ici "
     "`n == 0`), sinon la fonction s'appellerait à l'infini.",
     "C'est une fonction. Cherche sur Internet."),
    ("French", "Quelle est la capitale de la France ?",
     "La capitale de la France est Paris. C'est la plus grande ville du pays, célèbre pour la tour Eiffel, le "
     "musée du Louvre et la cathédrale Notre-Dame.",
     "Lyon."),
    ("French", "Donne-moi trois conseils pour bien dormir.",
     "Avec plaisir !\n\n1. **Gardez des horaires réguliers** : couchez-vous et levez-vous à la même heure, même le "
     "week-end.\n2. **Évitez les écrans** une heure avant de dormir.\n3. **Créez un environnement calme** : une "
     "chambre fraîche, sombre et silencieuse.\n\nBonne nuit ! 🌙",
     "Dors plus."),
    ("German", "Was ist der Unterschied zwischen Wetter und Klima?",
     "**Wetter** beschreibt den Zustand der Atmosphäre über Stunden oder Tage, zum Beispiel: „Heute regnet es in "
     "Hamburg bei 12 °C.“\n\n**Klima** ist das durchschnittliche Wetter an einem Ort über einen langen Zeitraum, "
     "meist 30 Jahre, zum Beispiel: „Hamburg hat milde, feuchte Winter.“\n\nKurz gesagt: Das Klima ist, was man "
     "erwartet, das Wetter ist, was man bekommt.",
     "Das ist das Gleiche."),
    ("German", "Wie viele Bundesländer hat Deutschland?",
     "Deutschland hat 16 Bundesländer, zum Beispiel Bayern, Nordrhein-Westfalen und Baden-Württemberg. Drei davon "
     "sind Stadtstaaten: Berlin, Hamburg und Bremen.",
     "Zwölf."),
    ("German", "Schreib mir bitte einen kurzen Geburtstagsgruß für meine Großmutter.",
     "Gern! Hier ist ein Vorschlag:\n\n> Liebe Oma,\n> zu Deinem Geburtstag wünsche ich Dir von Herzen alles Gute, "
     "viel Gesundheit und Freude. Danke für all die schönen Stunden, die wir zusammen verbringen! 🎂💐\n> "
     "Deine Anna\n\nDu kannst den Namen am Ende natürlich durch Deinen eigenen ersetzen.",
     "Alles Gute."),
    ("Spanish", "¿Cuál es la capital de España?",
     "La capital de España es Madrid. Está en el centro de la península ibérica y es la ciudad más grande del país.",
     "Barcelona."),
    ("Spanish", "¿Puedes explicarme qué es una variable en programación?",
     "¡Claro! Una **variable** es un nombre que guarda un valor en la memoria para poder usarlo después.\n\n"
     "```python\nedad = 25\nnombre = \"Lucía\"\nprint(nombre, \"tiene\", edad, \"años\")  # Lucía tiene 25 años\n```\n\n"
     "El valor de una variable puede cambiar mientras el programa se ejecuta; por eso se llama «variable».",
     "Es una cosa que varía."),
    ("Vietnamese", "Thủ đô của Việt Nam là gì?",
     "Thủ đô của Việt Nam là Hà Nội. Thành phố nằm bên bờ sông Hồng và nổi tiếng với Hồ Hoàn Kiếm cùng khu phố cổ.",
     "Thành phố Hồ Chí Minh."),
    ("Thai", "สวัสดีครับ คุณช่วยอะไรได้บ้าง",
     "สวัสดีครับ! ผมสามารถตอบคำถาม อธิบายเรื่องต่าง ๆ ให้เข้าใจง่าย และช่วยเขียนโปรแกรมได้ครับ มีอะไรให้ช่วยไหมครับ",
     "ไม่รู้ครับ"),
]

# Arithmetic question templates in other languages: (language, question, answer); {a} {b} {c}.
NATIVE_ARITH = [
    ("Chinese", "{a} 加 {b} 等于多少？", "{a} + {b} = {c}。"),
    ("Japanese", "{a} たす {b} はいくつですか？", "{a} + {b} = {c} です。"),
    ("Korean", "{a} + {b}의 값은 얼마인가요?", "{a} + {b} = {c}입니다."),
    ("Russian", "Сколько будет {a} плюс {b}?", "{a} + {b} = {c}."),
    ("Greek", "Πόσο κάνει {a} συν {b};", "{a} + {b} = {c}."),
    ("Arabic", "كم يساوي {a} زائد {b}؟", "{a} + {b} = {c}."),
    ("Hindi", "{a} और {b} का योग क्या है?", "{a} + {b} = {c} है।"),
    ("French", "Combien font {a} plus {b} ?", "{a} + {b} = {c}."),
    ("German", "Wie viel ist {a} plus {b}?", "{a} + {b} = {c}."),
    ("Spanish", "¿Cuánto es {a} más {b}?", "{a} + {b} = {c}."),
]

# ---------------------------------------------------------------------------------------------
# Emoji / Unicode conversations: (prompt, answer). Some contain decomposed characters on purpose.
UNICODE_QA = [
    ("Suggest five emoji for a summer party invitation.",
     "Here are five emoji that work well for a summer party:\n\n1. ☀️ sunshine\n2. 🏖️ the beach\n3. 🍉 watermelon\n"
     "4. 🍹 a cool drink\n5. 🎉 celebration\n\nFor example: \"Join us for a summer party on Saturday! ☀️🍉🎉\""),
    ("What is the emoji 👍🏽 made of?",
     "It is a sequence of **two code points**:\n\n1. 👍 U+1F44D THUMBS UP SIGN\n2. 🏽 U+1F3FD EMOJI MODIFIER "
     "FITZPATRICK TYPE-4, a medium skin tone\n\nWhen a skin-tone modifier follows a person or hand emoji, "
     "systems that support it draw a single combined glyph. In UTF-8 each of these code points takes 4 bytes, "
     "so the whole emoji is 8 bytes long."),
    ("How is the family emoji 👨‍👩‍👧 encoded?",
     "It is a **ZWJ sequence** of five code points:\n\n| Code point | Character |\n|---|---|\n| U+1F468 | 👨 man |\n"
     "| U+200D | zero width joiner |\n| U+1F469 | 👩 woman |\n| U+200D | zero width joiner |\n| U+1F467 | 👧 girl |\n\n"
     "The invisible zero width joiners tell the renderer to draw the three people as one glyph. In UTF-8 it takes "
     "3 × 4 + 2 × 3 = 18 bytes. If a system does not support the sequence, you see the three emoji side by side."),
    ("Why does the flag 🇫🇷 count as two characters in some programs?",
     "Because a flag emoji is built from **two regional indicator symbols**: 🇫 (U+1F1EB) and 🇷 (U+1F1F7), which "
     "spell the country code FR. Programs that count code points see 2, programs that count UTF-16 units see 4, "
     "and the UTF-8 encoding is 8 bytes; only software that counts *grapheme clusters* reports a single character."),
    ("What is the difference between \"é\" typed as one character and \"e\u0301\" with a combining accent?",
     "They look the same but are stored differently:\n\n- **é** (precomposed) is a single code point, U+00E9 LATIN "
     "SMALL LETTER E WITH ACUTE.\n- **e\u0301** (decomposed) is two code points: U+0065 LATIN SMALL LETTER E followed "
     "by U+0301 COMBINING ACUTE ACCENT.\n\nUnicode calls them *canonically equivalent*. To compare such strings "
     "reliably, normalize them first: **NFC** composes characters (e + ◌́ → é) and **NFD** decomposes them. In "
     "Python:\n\n```python\nimport unicodedata\n\na = \"caf\\u00e9\"\nb = \"cafe\\u0301\"\nprint(a == b)  # False\n"
     "print(unicodedata.normalize(\"NFC\", a) == unicodedata.normalize(\"NFC\", b))  # True\n```"),
    ("Why does the text Z\u0324\u0354\u0367a\u0351\u0353l\u0310g\u0308\u0359o\u0336 look so strange?",
     "That is so-called **Zalgo text**. Each letter is followed by several **combining marks**, for example "
     "U+0324 COMBINING DIAERESIS BELOW or U+0336 COMBINING LONG STROKE OVERLAY. Combining marks do not take up "
     "space of their own; they are drawn on top of or below the previous letter. Stacking many of them makes the "
     "text look glitchy.\n\nThe underlying letters are still just Z, a, l, g, o, so search and sorting may treat it "
     "as the word \"Zalgo\" once the marks are stripped."),
    ("I passed my driving test today!!! 🎉🚗",
     "Congratulations! 🎉 That's a great achievement, and all your practice paid off. Enjoy the freedom of the "
     "open road, and remember to drive safely. 🚗💨"),
    ("Write a short weather report for three days using emoji.",
     "Here is a three-day forecast:\n\n- **Monday:** 🌤️ partly cloudy, 18 °C\n- **Tuesday:** 🌧️ light rain, 14 °C, "
     "bring an umbrella ☔\n- **Wednesday:** ☀️ sunny and warm, 23 °C\n\nHave a nice week! 😊"),
    ("What does ∑ᵢ₌₁ⁿ i mean?",
     "It is the **sum of the integers from 1 to n**: ∑ᵢ₌₁ⁿ i = 1 + 2 + 3 + … + n.\n\nThere is a closed formula for "
     "it: ∑ᵢ₌₁ⁿ i = n(n + 1)/2. For example, for n = 10: 1 + 2 + … + 10 = 10 × 11 / 2 = 55.\n\nThe notation reads: "
     "the Greek capital letter sigma (∑) means \"sum\", the subscript i = 1 is the starting value of the index, "
     "and the superscript n is the last value."),
    ("Why do some websites show text like ＨＥＬＬＯ with wide letters?",
     "Those are **full-width forms** (U+FF01 to U+FF5E), such as Ｈ U+FF28 instead of H U+0048. They were created so "
     "that Latin letters and digits take the same width as CJK characters in East Asian text layouts.\n\nThey look "
     "like ordinary letters but are different characters, so \"ＨＥＬＬＯ\" == \"HELLO\" is false. Compatibility "
     "normalization (NFKC) converts them to their ordinary forms; NFC leaves them unchanged."),
    ("Can you give me a list of animal emoji with their names?",
     "Sure! Here are some popular ones:\n\n| Emoji | Name |\n|---|---|\n| 🐶 | dog face |\n| 🐱 | cat face |\n"
     "| 🦊 | fox |\n| 🐼 | panda |\n| 🐧 | penguin |\n| 🐙 | octopus |\n| 🦋 | butterfly |\n| 🐢 | turtle |\n\n"
     "There are hundreds more, including 🦄 unicorn and 🐉 dragon for mythical creatures."),
    ("How do you write the Vietnamese word \"Việt\" and why is it tricky?",
     "\"Việt\" contains the letter **ệ**, which carries two diacritics: a circumflex (ê) and a dot below (ẹ). It "
     "can be stored as a single precomposed code point, U+1EC7, or decomposed as e + U+0302 COMBINING CIRCUMFLEX "
     "ACCENT + U+0323 COMBINING DOT BELOW (in NFD the dot below comes first: e\u0323\u0302). Text from different "
     "sources may use different forms, so always normalize (for example to NFC) before comparing or searching."),
]

# ---------------------------------------------------------------------------------------------
SMALL_TALK = [
    ("Hi!", "Hello! How can I help you today?"),
    ("Good morning!", "Good morning! ☀️ What can I do for you today?"),
    ("Hello there, how are you?", "Hello! I'm an AI assistant, so I don't have feelings, but I'm ready to help. "
     "How are you, and what can I do for you?"),
    ("What can you do?", "I can help with many things, for example:\n\n- answering questions and explaining "
     "concepts\n- doing calculations step by step\n- writing and explaining code in Python, C, JavaScript and other "
     "languages\n- translating short texts\n- making lists, plans and summaries\n\nJust tell me what you need!"),
    ("Tell me a joke.", "Why do programmers prefer dark mode? Because light attracts bugs! 🐛"),
    ("Do you know a joke about math?", "Why was the math book sad? Because it had too many problems. 📚"),
    ("Can you tell me a short joke about animals?", "What do you call a bear with no teeth? A gummy bear! 🐻"),
    ("I'm feeling stressed about my exams next week.",
     "I'm sorry you're feeling stressed; exams can be a lot. A few things that often help:\n\n1. **Make a simple "
     "plan**: list the topics and give each day one or two of them.\n2. **Study in short blocks**: 25 minutes of "
     "focus, then a 5-minute break.\n3. **Test yourself** instead of only rereading.\n4. **Sleep well**: memory "
     "consolidates during sleep.\n\nYou've got this. If you like, tell me a subject and I can help you review it."),
    ("Thanks, that was really helpful!", "You're very welcome! I'm glad it helped. Feel free to come back any time."),
    ("Can you recommend a good habit to start this year?",
     "A great one is a **daily 10-minute walk**. It's easy to start, needs no equipment, and it improves mood, "
     "sleep and fitness. Tie it to something you already do, like right after lunch, and it will stick more "
     "easily."),
]
