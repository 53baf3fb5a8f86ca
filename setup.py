"""ament_python package that is also pip-installable (`pip install .`)."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'cvseq_localizer'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*', 'bench']),
    data_files=[
        ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
        (f'share/{PACKAGE}', ['package.xml']),
        (f'share/{PACKAGE}/launch', glob('launch/*.py')),
        (f'share/{PACKAGE}/config', glob('config/*.yaml')),
        (f'share/{PACKAGE}/models', glob('models/*.pt') + glob('models/*.md')),
        # ONNX exports beside the checkpoints ('auto' engine on CPU), e.g. small_tam_onnx/.
        *[
            (f'share/{PACKAGE}/{folder}', glob(f'{folder}/*'))
            for folder in sorted(glob('models/*_onnx'))
        ],
    ],
    python_requires='>=3.10',
    # Loose ranges for pip users; `make` installs the exact pins in requirements.txt.
    # torch is not listed with a CUDA/CPU flavour: install the build for your machine first.
    install_requires=[
        'numpy>=1.24',
        'torch>=2.1',
        'pyproj>=3.5',
        'mercantile>=1.2',
        'requests>=2.28',
        'opencv-python-headless>=4.8',
        'onnxruntime>=1.17',
        'onnx>=1.15',
        'rosbags>=0.10',
        'mcap>=1.1',
        'tifffile>=2023.1',
        'tqdm>=4.60',
        'matplotlib>=3.7',
        'PyYAML>=6.0',
    ],
    extras_require={
        'test': ['pytest', 'hypothesis', 'ruff'],
    },
    zip_safe=True,
    maintainer='cvseq_localizer developers',
    maintainer_email='cvseq-localizer@example.com',
    description='Cross-view sequential localisation against satellite imagery for ROS 2.',
    license='MIT',
    entry_points={
        'console_scripts': [
            'cvseq-localizer = cvseq_localizer.tools.cli:main',
            'cvseq-tiles = cvseq_localizer.tools.tiles_cli:main',
            'cvseq-sim = cvseq_localizer.tools.sim_cli:main',
            'cvseq-replay = cvseq_localizer.tools.replay:main',
            'cvseq-evaluate = cvseq_localizer.tools.evaluate:main',
            'cvseq-train = cvseq_localizer.tools.train_cli:main',
            'cvseq-export = cvseq_localizer.tools.export:main',
            'cvseq-play = cvseq_localizer.tools.play:main',
            'cvseq-convert = cvseq_localizer.tools.convert:main',
            'cvseq_localizer = cvseq_localizer.ros.node:main',
            'cvseq_localizer_lifecycle = cvseq_localizer.ros.lifecycle_node:main',
        ],
    },
)
