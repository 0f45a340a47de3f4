# bench/plot.gp - the plot of a bench run.
#   gnuplot -e "dir='DIR'" bench/plot.gp     reads DIR/spawn.dat, DIR/latency.dat
#                                           and writes DIR/plot.png
if (!exists("dir")) dir = "."

set terminal pngcairo size 1500,600 font "DejaVu Sans,10" noenhanced
set output dir."/plot.png"
set encoding utf8
set datafile columnheaders

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border rgb "#333333"
set boxwidth 0.9
set logscale y
set grid ytics mytics
set xtics nomirror
set ytics nomirror

# One colour per column: floor, then ward's four, then the peers.
array col[9] = ["#444444", "#1b9e3a", "#7fd18b", "#d95f02", "#fdb863", \
                "#3a6fd8", "#e41a1c", "#984ea3", "#a6761d"]

set multiplot layout 1,2 title "ward bench (lower is better; log scale; medians)"

set title "Scenarios 1-3: one spawn + reap"
set ylabel "µs per child"
unset key
plot for [i=2:*] dir."/spawn.dat" using i:xtic(1) lc rgb col[(i-2)%9+1]

set title "Scenario 5: child's exit to parent notified"
set ylabel "µs"
set key outside right top vertical autotitle columnhead
plot for [i=2:*] dir."/latency.dat" using i:xtic(1) lc rgb col[(i-2)%9+1]

unset multiplot
