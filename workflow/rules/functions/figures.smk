def figure_output(name):
    return report(
        f"results/figures/{name}.svg",
        caption=f"../report/figures/{name}.rst",
        category=FIGURE_CATEGORY[name],
        labels=figure_labels(name),
    )
