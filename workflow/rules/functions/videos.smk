def get_master_video(wildcards):
    if wildcards.video in GENERATED_VIDEOS:
        return f"resources/videos/{wildcards.video}/master.mp4"
    return USER_VIDEOS.loc[wildcards.video, "path"]


def get_master_groundtruth(wildcards):
    if wildcards.video in GENERATED_VIDEOS:
        return f"resources/videos/{wildcards.video}/groundtruth.csv"
    return USER_VIDEOS.loc[wildcards.video, "groundtruth"] or []


def get_video_spec(wildcards):
    return GENERATED_VIDEOS[wildcards.video]


def get_resolution_size(wildcards):
    return RESOLUTIONS[wildcards.res]


def get_video_fps(wildcards):
    return USER_VIDEOS["fps"].get(wildcards.video)


def get_video_outputs(wildcards):
    return {
        kind: expand(
            f"resources/videos/{{video}}/{{res}}.{kind}", **wildcards, res=RESOLUTIONS
        )
        for kind in ("mp4", "json", "groundtruth.csv")
    }
